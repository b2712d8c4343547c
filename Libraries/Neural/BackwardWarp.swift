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
                    // Written so that NaN goes to 0, as PyTorch's border clamp does (and Int() never sees it).
                    let fx = Float(x) + u[x], fy = Float(y) + v[x]
                    let sx = fx > 0 ? min(fx, maxX) : 0
                    let sy = fy > 0 ? min(fy, maxY) : 0
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
