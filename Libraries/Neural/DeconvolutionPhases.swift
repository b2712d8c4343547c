/// The last step of a transposed convolution run as one convolution per output phase (see
/// `PlanBuilder.planDeconvolutionAsPhases`): output pixel (S·m + r, S·k + s) is pixel (m, k) of
/// phase (r, s). Every tensor is nChw16c, so each move is one 16-channel vector.
enum DeconvolutionPhases {
    /// `phases` in row-major (r, s) order, each [batch, channels, height, width]; `dst` is
    /// [batch, channels, S_h·height, S_w·width].
    static func interleave(phases: [UnsafePointer<Float>], stride: (h: Int, w: Int), batch: Int, channels: Int, height: Int, width: Int,
                           dst: UnsafeMutablePointer<Float>, threads: Int) {
        let blocks = (channels + 15) / 16
        let (oh, ow) = (height * stride.h, width * stride.w)
        HostKernels.parallel(batch * blocks * oh, threads: threads) { rows in
            for row in rows {
                let plane = row / oh, y = row % oh
                let (m, r) = (y / stride.h, y % stride.h)
                let out = UnsafeMutableRawPointer(dst + (plane * oh + y) * ow * 16)
                for s in 0..<stride.w {
                    let source = UnsafeRawPointer(phases[r * stride.w + s] + (plane * height + m) * width * 16)
                    for k in 0..<width {
                        out.storeBytes(of: source.load(fromByteOffset: k * 64, as: SIMD16<Float>.self),
                                       toByteOffset: (k * stride.w + s) * 64, as: SIMD16<Float>.self)
                    }
                }
            }
        }
    }
}
