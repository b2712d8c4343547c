/// The last step of a transposed convolution run as one convolution per output phase (see
/// `PlanBuilder.planDeconvolutionAsPhases`): output pixel (S·m + r, S·k + s) is pixel (m, k) of
/// phase (r, s). Blocked (nChw16c) tensors move one 16-channel vector at a time.
enum DeconvolutionPhases {
    /// `phases` in row-major (r, s) order, each [batch, channels, height, width]; `dst` is
    /// [batch, channels, S_h·height, S_w·width], all in the same layout (nChw16c or plain).
    static func interleave(phases: [UnsafePointer<Float>], stride: (h: Int, w: Int), batch: Int, channels: Int, height: Int, width: Int,
                           blocked: Bool, dst: UnsafeMutablePointer<Float>, threads: Int) {
        let planes = blocked ? batch * ((channels + 15) / 16) : batch * channels
        let lanes = blocked ? 16 : 1
        let (oh, ow) = (height * stride.h, width * stride.w)
        HostKernels.parallel(planes * oh, threads: threads) { rows in
            for row in rows {
                let plane = row / oh, y = row % oh
                let (m, r) = (y / stride.h, y % stride.h)
                let out = dst + (plane * oh + y) * ow * lanes
                for s in 0..<stride.w {
                    let source = phases[r * stride.w + s] + (plane * height + m) * width * lanes
                    if blocked {
                        let (from, to) = (UnsafeRawPointer(source), UnsafeMutableRawPointer(out))
                        for k in 0..<width {
                            to.storeBytes(of: from.load(fromByteOffset: k * 64, as: SIMD16<Float>.self),
                                          toByteOffset: (k * stride.w + s) * 64, as: SIMD16<Float>.self)
                        }
                    } else {
                        for k in 0..<width { out[k * stride.w + s] = source[k] }
                    }
                }
            }
        }
    }
}
