import Foundation

/// Full-reference picture quality on the luma plane (the first plane of a YUV frame, or the
/// frame's luma computed from RGB): PSNR and SSIM (Wang et al. 2004: 11×11 Gaussian window,
/// σ = 1.5, K1 = 0.01, K2 = 0.03, over the window positions that fit inside the picture).
public enum PictureQuality {
    /// PSNR of the luma planes in dB (infinity when identical).
    public static func psnr(_ a: VideoFrame, _ b: VideoFrame) throws -> Double {
        let (x, y) = try (luma(a), luma(b))
        var se = 0.0
        for i in 0..<x.count { let d = Double(x[i]) - Double(y[i]); se += d * d }
        return se == 0 ? .infinity : 10 * log10(255 * 255 * Double(x.count) / se)
    }

    public static func ssim(_ a: VideoFrame, _ b: VideoFrame) throws -> Double {
        let (x, y) = try (luma(a), luma(b))
        let (w, h) = (a.width, a.height)
        let window = gaussian(radius: 5, sigma: 1.5)
        let xx: [Double] = x.map { $0 * $0 }, yy: [Double] = y.map { $0 * $0 }
        let xy: [Double] = zip(x, y).map { $0 * $1 }
        let maps = [x, y, xx, yy, xy].map { filter($0, width: w, height: h, window: window) }
        let c1 = 0.01 * 255 * 0.01 * 255, c2 = 0.03 * 255 * 0.03 * 255
        var total = 0.0
        for i in 0..<maps[0].count {
            let mx = maps[0][i], my = maps[1][i]
            let vx = maps[2][i] - mx * mx, vy = maps[3][i] - my * my, cxy = maps[4][i] - mx * my
            let numerator = (2 * mx * my + c1) * (2 * cxy + c2)
            let denominator = (mx * mx + my * my + c1) * (vx + vy + c2)
            total += numerator / denominator
        }
        return total / Double(max(maps[0].count, 1))
    }

    /// Luma as doubles: the Y plane of YUV formats, BT.601 luma of rgb24.
    static func luma(_ f: VideoFrame) throws -> [Double] {
        let n = f.width * f.height
        if f.pixelFormat == "rgb24" {
            return (0..<n).map { i -> Double in
                let r = Double(f.data[3 * i]), g = Double(f.data[3 * i + 1]), b = Double(f.data[3 * i + 2])
                return 0.299 * r + 0.587 * g + 0.114 * b
            }
        }
        guard f.pixelFormat.hasPrefix("yuv"), !f.pixelFormat.hasSuffix("le"), !f.pixelFormat.hasSuffix("be") else {
            throw MediaError.unsupported("quality metrics for \(f.pixelFormat)")
        }
        let plane = try f.layout().planes[0]
        return (0..<n).map { Double(f.data[plane.offset + ($0 / f.width) * plane.bytesPerRow + $0 % f.width]) }
    }

    static func gaussian(radius: Int, sigma: Double) -> [Double] {
        let w = (-radius...radius).map { d -> Double in exp(-Double(d * d) / (2 * sigma * sigma)) }
        let sum = w.reduce(0, +)
        return w.map { $0 / sum }
    }

    /// Separable filtering over the positions where the whole window fits ("valid").
    static func filter(_ p: [Double], width w: Int, height h: Int, window: [Double]) -> [Double] {
        let k = window.count
        let (ow, oh) = (w - k + 1, h - k + 1)
        guard ow > 0, oh > 0 else { return [] }
        var rows = [Double](repeating: 0, count: ow * h)
        for y in 0..<h {
            for x in 0..<ow {
                var s = 0.0
                for t in 0..<k { s += p[y * w + x + t] * window[t] }
                rows[y * ow + x] = s
            }
        }
        var out = [Double](repeating: 0, count: ow * oh)
        for y in 0..<oh {
            for x in 0..<ow {
                var s = 0.0
                for t in 0..<k { s += rows[(y + t) * ow + x] * window[t] }
                out[y * ow + x] = s
            }
        }
        return out
    }
}
