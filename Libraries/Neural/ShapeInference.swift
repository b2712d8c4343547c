extension GraphOperation {
    /// NCHW output shape for the given input shapes; throws with the layer name on mismatches.
    public func outputShape(inputs: [[Int]], layer: String) throws -> [Int] {
        guard let first = inputs.first, first.count == 4 else {
            throw NeuralError.shapeMismatch("layer '\(layer)' expects 4-D NCHW inputs, got \(inputs)")
        }
        let (n, c, h, w) = (first[0], first[1], first[2], first[3])
        switch self {
        case .convolution(let conv):
            let inPerGroup = conv.weights.count / max(1, conv.outChannels * conv.kernel.h * conv.kernel.w)
            guard inPerGroup * conv.groups == c else {
                throw NeuralError.shapeMismatch("layer '\(layer)': weights expect \(inPerGroup * conv.groups) input channels, got \(c)")
            }
            let eh = conv.dilation.h * (conv.kernel.h - 1) + 1, ew = conv.dilation.w * (conv.kernel.w - 1) + 1
            let oh: Int, ow: Int
            if conv.transposed {
                oh = (h - 1) * conv.stride.h + eh - conv.pad.top - conv.pad.bottom + conv.outputPadding.h
                ow = (w - 1) * conv.stride.w + ew - conv.pad.left - conv.pad.right + conv.outputPadding.w
            } else {
                oh = (h + conv.pad.top + conv.pad.bottom - eh) / conv.stride.h + 1
                ow = (w + conv.pad.left + conv.pad.right - ew) / conv.stride.w + 1
            }
            guard oh > 0, ow > 0 else { throw NeuralError.shapeMismatch("layer '\(layer)': input \(h)×\(w) too small for the kernel") }
            return [n, conv.outChannels, oh, ow]
        case .prelu(let slopes):
            guard slopes.count == 1 || slopes.count == c else {
                throw NeuralError.shapeMismatch("layer '\(layer)': \(slopes.count) slopes for \(c) channels")
            }
            return first
        case .activation:
            return first
        case .binary(_, let scalar):
            if scalar == nil {
                guard inputs.count == 2, inputs[1] == first else {
                    throw NeuralError.shapeMismatch("layer '\(layer)': binary operands \(inputs) differ (broadcasting is not supported)")
                }
            }
            return first
        case .eltwise(_, let coefficients):
            guard inputs.allSatisfy({ $0 == first }) else { throw NeuralError.shapeMismatch("layer '\(layer)': eltwise operands \(inputs) differ") }
            guard coefficients.isEmpty || coefficients.count == inputs.count else {
                throw NeuralError.shapeMismatch("layer '\(layer)': \(coefficients.count) coefficients for \(inputs.count) inputs")
            }
            return first
        case .pixelShuffleAdd(let r, let skip):
            let shuffled = try GraphOperation.pixelShuffle(factor: r).outputShape(inputs: [first], layer: layer)
            guard inputs.count == 2, try GraphOperation.interpolate(skip).outputShape(inputs: [inputs[1]], layer: layer) == shuffled else {
                throw NeuralError.shapeMismatch("layer '\(layer)': the resized skip input \(inputs.dropFirst()) does not match \(shuffled)")
            }
            return shuffled
        case .warp(let k):
            guard inputs.count == 2, inputs[1].count == 4, inputs[1][0] == n, inputs[1][2] == h, inputs[1][3] == w, k >= 0, k + 2 <= inputs[1][1] else {
                throw NeuralError.shapeMismatch("layer '\(layer)': warp needs a flow of \(n)×≥\(k + 2)×\(h)×\(w), got \(inputs.dropFirst())")
            }
            return first
        case .maskedBlend(let k):
            guard inputs.count == 3, inputs[1] == first, inputs[2].count == 4, inputs[2][0] == n, inputs[2][2] == h, inputs[2][3] == w,
                  k >= 0, k < inputs[2][1] else {
                throw NeuralError.shapeMismatch("layer '\(layer)': masked blend needs two equal images and a mask with channel \(k), got \(inputs)")
            }
            return first
        case .interpolate(let i):
            let oh = i.outputSize.h > 0 ? i.outputSize.h : Int(Float(h) * i.scale.h)
            let ow = i.outputSize.w > 0 ? i.outputSize.w : Int(Float(w) * i.scale.w)
            guard oh > 0, ow > 0 else { throw NeuralError.shapeMismatch("layer '\(layer)': resize of \(h)×\(w) gives an empty output") }
            if i.mode == .bicubic && (h < 4 || w < 4) {
                throw NeuralError.shapeMismatch("layer '\(layer)': bicubic resize needs at least 4×4 input, got \(h)×\(w)")
            }
            return [n, c, oh, ow]
        case .pixelShuffle(let r):
            guard c % (r * r) == 0 else { throw NeuralError.shapeMismatch("layer '\(layer)': \(c) channels not divisible by \(r * r)") }
            return [n, c / (r * r), h * r, w * r]
        case .concat(let axis):
            guard axis >= 1, axis <= 3 else { throw NeuralError.unsupportedParameter(layer: layer, "concat axis \(axis)") }
            var out = first
            out[axis] = 0
            for s in inputs {
                for a in 0..<4 where a != axis && s[a] != first[a] {
                    throw NeuralError.shapeMismatch("layer '\(layer)': concat operands \(inputs) differ off axis \(axis)")
                }
                out[axis] += s[axis]
            }
            return out
        case .crop(let crop):
            guard let r = crop.resolved(channels: c, height: h, width: w) else {
                throw NeuralError.shapeMismatch("layer '\(layer)': crop \(crop) is empty or outside \(c)×\(h)×\(w)")
            }
            return [n] + r.size
        case .padding(let p):
            if p.mode == .reflect && (p.top >= h || p.bottom >= h || p.left >= w || p.right >= w) {
                throw NeuralError.shapeMismatch("layer '\(layer)': reflect padding must be smaller than the input \(h)×\(w)")
            }
            return [n, c, h + p.top + p.bottom, w + p.left + p.right]
        }
    }
}
