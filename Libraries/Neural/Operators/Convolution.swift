/// Convolution or transposed convolution (deconvolution), with an optional fused activation.
/// ncnn: `Convolution`, `Deconvolution`. Planned by `PlanBuilder.planConvolution`.
public struct Convolution: Operator {
    public static let typeName = "convolution"
    public var outChannels: Int
    public var kernel: (h: Int, w: Int)
    public var stride: (h: Int, w: Int)
    public var dilation: (h: Int, w: Int)
    /// Padding before/after in each spatial dimension.
    public var pad: (top: Int, left: Int, bottom: Int, right: Int)
    public var groups: Int
    /// Deconvolution (transposed convolution) when true.
    public var transposed: Bool
    /// Extra output size for transposed convolutions (bottom, right).
    public var outputPadding: (h: Int, w: Int)
    /// OIHW; for transposed convolutions O is the output channel too (ncnn's order).
    public var weights: [Float]
    public var bias: [Float]?
    public var activation: ActivationFunction?

    public init(outChannels: Int, kernel: (h: Int, w: Int), stride: (h: Int, w: Int) = (1, 1), dilation: (h: Int, w: Int) = (1, 1),
                pad: (top: Int, left: Int, bottom: Int, right: Int), groups: Int = 1, transposed: Bool = false,
                outputPadding: (h: Int, w: Int) = (0, 0), weights: [Float], bias: [Float]?, activation: ActivationFunction?) {
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.dilation = dilation
        self.pad = pad
        self.groups = groups
        self.transposed = transposed
        self.outputPadding = outputPadding
        self.weights = weights
        self.bias = bias
        self.activation = activation
    }

    public func outputShape(inputs: [[Int]], layer: String) throws -> [Int] {
        let (n, c, h, w) = try nchw(inputs, layer: layer)
        let inPerGroup = weights.count / max(1, outChannels * kernel.h * kernel.w)
        guard inPerGroup * groups == c else {
            throw NeuralError.shapeMismatch("layer '\(layer)': weights expect \(inPerGroup * groups) input channels, got \(c)")
        }
        let eh = dilation.h * (kernel.h - 1) + 1, ew = dilation.w * (kernel.w - 1) + 1
        let oh: Int, ow: Int
        if transposed {
            oh = (h - 1) * stride.h + eh - pad.top - pad.bottom + outputPadding.h
            ow = (w - 1) * stride.w + ew - pad.left - pad.right + outputPadding.w
        } else {
            oh = (h + pad.top + pad.bottom - eh) / stride.h + 1
            ow = (w + pad.left + pad.right - ew) / stride.w + 1
        }
        guard oh > 0, ow > 0 else { throw NeuralError.shapeMismatch("layer '\(layer)': input \(h)×\(w) too small for the kernel") }
        return [n, outChannels, oh, ow]
    }

    /// Multiply-accumulates for one run with this input shape (a deconvolution scatters every
    /// input pixel through the whole kernel).
    func multiplyAccumulates(input: [Int], output: [Int]) -> Double {
        if transposed { return Double(input.reduce(1, *)) * Double(outChannels * kernel.h * kernel.w) }
        return Double(input[1] / groups * kernel.h * kernel.w) * Double(output.reduce(1, *))
    }

    static let registration = OperatorRegistration(Convolution.self, ncnn: ["Convolution", "Deconvolution"], read: { layer, reader in
        try Convolution(ncnn: layer, reader: &reader)
    }, plan: { conv, node, outShape, builder in
        try builder.planConvolution(node, conv, outShape: outShape)
    })

    init(ncnn layer: NcnnLayer, reader: inout NcnnWeightReader) throws {
        let transposed = layer.type == "Deconvolution"
        let p = layer.parameters, name = layer.name
        let outChannels = try p.int(0, default: 0)
        let kw = try p.int(1, default: 0), kh = try p.int(11, default: kw)
        let dw = try p.int(2, default: 1), dh = try p.int(12, default: dw)
        let sw = try p.int(3, default: 1), sh = try p.int(13, default: sw)
        let left = try p.int(4, default: 0), top = try p.int(14, default: left)
        let right = try p.int(15, default: left), bottom = try p.int(16, default: top)
        let biasTerm = try p.int(5, default: 0) != 0
        let weightCount = try p.int(6, default: 0)
        guard outChannels > 0, kw > 0, kh > 0, sw > 0, sh > 0, dw > 0, dh > 0, weightCount > 0,
              weightCount % (outChannels * kw * kh) == 0 else {
            throw NeuralError.malformedModel("layer '\(name)': inconsistent convolution sizes (out \(outChannels), kernel \(kw)×\(kh), weights \(weightCount))")
        }
        guard min(left, top, right, bottom) >= 0 else {
            throw NeuralError.unsupportedParameter(layer: name, "automatic (SAME) padding \(left)")
        }
        for (key, what) in [(8, "int8 scale term"), (19, "dynamic weights")] where try p.int(key, default: 0) != 0 {
            throw NeuralError.unsupportedParameter(layer: name, what)
        }
        if !transposed, try p.float(18, default: 0) != 0 { throw NeuralError.unsupportedParameter(layer: name, "non-zero pad value") }
        var outputPadding = (h: 0, w: 0)
        if transposed {
            outputPadding = (try p.int(19, default: 0), try p.int(18, default: 0))
            guard try p.int(20, default: 0) == 0, try p.int(21, default: 0) == 0 else {
                throw NeuralError.unsupportedParameter(layer: name, "fixed deconvolution output size")
            }
        }
        let activation = try ActivationFunction(ncnnType: try p.int(9, default: 0), parameters: try p.floats(10), layer: name)
        let weights = try reader.readTagged(weightCount, what: "weights of '\(name)'")
        let bias = biasTerm ? try reader.readRaw(outChannels, what: "bias of '\(name)'") : nil
        self.init(outChannels: outChannels, kernel: (kh, kw), stride: (sh, sw), dilation: (dh, dw),
                  pad: (top, left, bottom, right), transposed: transposed, outputPadding: outputPadding,
                  weights: weights, bias: bias, activation: activation)
    }
}
