import Foundation

/// Backward warp with PyTorch `grid_sample` semantics as RIFE uses it (bilinear, border padding,
/// `align_corners=True`, the grid being the pixel grid plus a flow in pixels): output pixel (x, y)
/// samples the image at (x + u, y + v), each coordinate clamped to the image, so pixels pulled
/// from outside repeat the edge.
enum BackwardWarp {
    /// `image` is N×C×H×W; `flow` is N×F×H×W with (u, v) at channels `flowChannel`, `flowChannel + 1`.
    static func run(image: UnsafePointer<Float>, channels: Int, flow: UnsafePointer<Float>, flowChannels: Int, flowChannel: Int,
                    batch: Int, height h: Int, width w: Int, dst: UnsafeMutablePointer<Float>, threads: Int) {
        let plane = h * w
        let maxX = Float(w - 1), maxY = Float(h - 1)
        HostKernels.parallel(batch * h, threads: threads) { rows in
            for row in rows {
                let n = row / h, y = row % h
                let u = flow + (n * flowChannels + flowChannel) * plane + y * w
                let v = u + plane
                let src = image + n * channels * plane
                let out = dst + n * channels * plane + y * w
                for x in 0..<w {
                    let sx = min(max(Float(x) + u[x], 0), maxX)
                    let sy = min(max(Float(y) + v[x], 0), maxY)
                    let x0 = Int(sx), y0 = Int(sy)  // non-negative, so truncation is floor
                    let ax = sx - Float(x0), ay = sy - Float(y0)
                    let x1 = min(x0 + 1, w - 1), y1 = min(y0 + 1, h - 1)
                    let (i00, i01, i10, i11) = (y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1)
                    let (w00, w01, w10, w11) = ((1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay)
                    for c in 0..<channels {
                        let s = src + c * plane
                        out[c * plane + x] = s[i00] * w00 + s[i01] * w01 + s[i10] * w10 + s[i11] * w11
                    }
                }
            }
        }
    }
}

/// out = a·σ(m) + b·(1 − σ(m)), with m one channel of a third tensor: RIFE's final merge of the
/// two warped frames by its occlusion mask.
enum MaskedBlend {
    static func run(a: UnsafePointer<Float>, b: UnsafePointer<Float>, channels: Int, mask: UnsafePointer<Float>, maskChannels: Int,
                    maskChannel: Int, batch: Int, plane: Int, dst: UnsafeMutablePointer<Float>, threads: Int) {
        HostKernels.parallel(batch * channels, threads: threads) { planes in
            for p in planes {
                let n = p / channels
                let m = mask + (n * maskChannels + maskChannel) * plane
                let (pa, pb, out) = (a + p * plane, b + p * plane, dst + p * plane)
                for i in 0..<plane {
                    let s = 1 / (1 + exp(-m[i]))
                    out[i] = pa[i] * s + pb[i] * (1 - s)
                }
            }
        }
    }
}
