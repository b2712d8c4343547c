import Foundation

/// The second half of a transposed convolution run as "1×1 products, then scatter": the products
/// tensor holds, for every input pixel, weight·input for each (output channel, ky, kx) — channel
/// (o·kh + ky)·kw + kx, in oneDNN's nChw16c blocked layout — and this pass adds each product into
/// output pixel (iy·s + ky·d − pad, ix·s + kx·d − pad). The products come from one dense matrix
/// multiply with no zero taps (a sub-pixel convolution multiplies zeros where phases do not use a
/// tap: 2.25× the work for waifu2x's 4×4 stride-2 layer); the scatter is cheap adds.
struct DeconvolutionScatter: Sendable {
    var outChannels: Int
    var kernel: (h: Int, w: Int)
    var stride: (h: Int, w: Int)
    var dilation: (h: Int, w: Int)
    var padBegin: (top: Int, left: Int)
    var bias: [Float]?
    var activation: ActivationFunction?

    var productChannels: Int { outChannels * kernel.h * kernel.w }

    /// `src`: products [N, productChannels, H, W] blocked by 16 channels; `dst`: plain [N, outChannels, OH, OW].
    func run(src: UnsafePointer<Float>, inShape: [Int], dst: UnsafeMutablePointer<Float>, outShape: [Int], threads: Int) {
        let (n, h, w) = (inShape[0], inShape[2], inShape[3])
        let (oh, ow) = (outShape[2], outShape[3])
        let blocks = (productChannels + 15) / 16
        let batchStride = blocks * 16 * h * w
        let rows = n * outChannels * oh
        HostKernels.parallel(rows, threads: threads) { range in
            for row in range {
                let (b, o, oy) = (row / (outChannels * oh), row / oh % outChannels, row % oh)
                let out = dst + row * ow
                out.update(repeating: bias?[o] ?? 0, count: ow)
                for ky in 0..<kernel.h {
                    let t = oy + padBegin.top - ky * dilation.h
                    guard t >= 0, t % stride.h == 0, t / stride.h < h else { continue }
                    let iy = t / stride.h
                    for kx in 0..<kernel.w {
                        let c = (o * kernel.h + ky) * kernel.w + kx
                        let plane = src + b * batchStride + ((c / 16) * h + iy) * w * 16 + c % 16
                        // Output x = ix·s + offset; keep ix where that lands inside the row.
                        let offset = kx * dilation.w - padBegin.left
                        let first = max(0, (-offset + stride.w - 1) / stride.w)
                        let last = min(w - 1, Self.floorDivide(ow - 1 - offset, stride.w))
                        guard first <= last else { continue }
                        var ox = first * stride.w + offset
                        for ix in first...last {
                            out[ox] += plane[ix * 16]
                            ox += stride.w
                        }
                    }
                }
                if let activation { HostKernels.activate(out, count: ow, activation) }
            }
        }
    }

    private static func floorDivide(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
}

extension HostKernels {
    static func activate(_ values: UnsafeMutablePointer<Float>, count: Int, _ f: ActivationFunction) {
        switch f {
        case .relu(let slope):
            for i in 0..<count where values[i] < 0 { values[i] *= slope }
        case .sigmoid:
            for i in 0..<count { values[i] = 1 / (1 + exp(-values[i])) }
        case .clip(let lo, let hi):
            for i in 0..<count { values[i] = min(max(values[i], lo), hi) }
        }
    }
}
