import Foundation
import Neural

/// Plain, obviously-correct loops that the runtime's fast paths are checked against.
enum Reference {
    static func convolution(_ x: Tensor, _ c: Convolution) -> Tensor {
        let (ic, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        let (kh, kw) = c.kernel
        let oh = (h + c.pad.top + c.pad.bottom - ((kh - 1) * c.dilation.h + 1)) / c.stride.h + 1
        let ow = (w + c.pad.left + c.pad.right - ((kw - 1) * c.dilation.w + 1)) / c.stride.w + 1
        var y = Tensor(zeros: [1, c.outChannels, oh, ow])
        for o in 0..<c.outChannels {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var sum = c.bias?[o] ?? 0
                    for i in 0..<ic {
                        for ky in 0..<kh {
                            for kx in 0..<kw {
                                let iy = oy * c.stride.h - c.pad.top + ky * c.dilation.h
                                let ix = ox * c.stride.w - c.pad.left + kx * c.dilation.w
                                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                                sum += x[0, i, iy, ix] * c.weights[((o * ic + i) * kh + ky) * kw + kx]
                            }
                        }
                    }
                    y[0, o, oy, ox] = activate(sum, c.activation)
                }
            }
        }
        return y
    }

    /// Scatter form: every input pixel adds weight × value into a stride-spaced window.
    static func deconvolution(_ x: Tensor, _ c: Convolution) -> Tensor {
        let (ic, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        let (kh, kw) = c.kernel
        let fullH = (h - 1) * c.stride.h + kh, fullW = (w - 1) * c.stride.w + kw
        var full = [Float](repeating: 0, count: c.outChannels * fullH * fullW)
        for o in 0..<c.outChannels {
            for i in 0..<ic {
                for iy in 0..<h {
                    for ix in 0..<w {
                        for ky in 0..<kh {
                            for kx in 0..<kw {
                                full[(o * fullH + iy * c.stride.h + ky) * fullW + ix * c.stride.w + kx] +=
                                    x[0, i, iy, ix] * c.weights[((o * ic + i) * kh + ky) * kw + kx]
                            }
                        }
                    }
                }
            }
        }
        let oh = fullH - c.pad.top - c.pad.bottom, ow = fullW - c.pad.left - c.pad.right
        var y = Tensor(zeros: [1, c.outChannels, oh, ow])
        for o in 0..<c.outChannels {
            for yy in 0..<oh {
                for xx in 0..<ow {
                    y[0, o, yy, xx] = activate(full[(o * fullH + yy + c.pad.top) * fullW + xx + c.pad.left] + (c.bias?[o] ?? 0), c.activation)
                }
            }
        }
        return y
    }

    static func activate(_ v: Float, _ a: ActivationFunction?) -> Float {
        switch a {
        case nil: return v
        case .relu(let slope)?: return v > 0 ? v : v * slope
        case .sigmoid?: return 1 / (1 + exp(-v))
        case .clip(let lo, let hi)?: return min(max(v, lo), hi)
        }
    }

    /// Half-pixel bicubic (A = −0.75) with out-of-range taps folded onto the nearest inside
    /// pixel, computed separably per output pixel — ncnn's convention, written out directly.
    static func bicubic(_ x: Tensor, outH: Int, outW: Int) -> Tensor {
        func taps(_ o: Int, _ n: Int, _ outN: Int) -> [(Int, Float)] {
            let f = (Float(o) + 0.5) * Float(n) / Float(outN) - 0.5
            let base = Int(f.rounded(.down)), t = f - Float(base)
            func k(_ d: Float) -> Float {
                let a: Float = -0.75, d = abs(d)
                if d <= 1 { return ((a + 2) * d - (a + 3)) * d * d + 1 }
                if d < 2 { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a }
                return 0
            }
            // ncnn keeps the four taps inside [0, n) by sliding the window and merging weights.
            var idx = base - 1
            var ws = [k(t + 1), k(t), k(1 - t), k(2 - t)]
            if base <= -1 { idx = 0; ws = [1 - ws[3], ws[3], 0, 0] } else if base == 0 { idx = 0; ws = [ws[0] + ws[1], ws[2], ws[3], 0] }
            if base == n - 2 { idx = n - 4; ws = [0, ws[0], ws[1], ws[2] + ws[3]] } else if base >= n - 1 { idx = n - 4; ws = [0, 0, ws[0], 1 - ws[0]] }
            return (0..<4).map { (idx + $0, ws[$0]) }
        }
        var y = Tensor(zeros: [1, x.shape[1], outH, outW])
        for c in 0..<x.shape[1] {
            for oy in 0..<outH {
                let ty = taps(oy, x.shape[2], outH)
                for ox in 0..<outW {
                    let tx = taps(ox, x.shape[3], outW)
                    var s: Float = 0
                    for (iy, wy) in ty { for (ix, wx) in tx { s += wy * wx * x[0, c, iy, ix] } }
                    y[0, c, oy, ox] = s
                }
            }
        }
        return y
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "shapes \(a.shape) vs \(b.shape)")
        return zip(a.data, b.data).map { abs($0 - $1) }.max() ?? 0
    }
}

/// Deterministic pseudo-random values (tests must not depend on a global RNG seed).
struct Pattern {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> Float {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Float(state % 2001) / 1000 - 1
    }
    mutating func tensor(_ shape: [Int]) -> Tensor { Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in next() }) }
    mutating func values(_ n: Int) -> [Float] { (0..<n).map { _ in next() } }
}

/// A graph running one operation on the input (optionally after a split into channel halves).
func singleOperationGraph(_ op: any Operator) -> Graph {
    Graph(name: "test", valueNames: ["in", "out"], inputs: [0], outputs: [1], nodes: [Node(name: "op", operation: op, inputs: [0], outputs: [1])])
}
