import OneDNN

/// max(x, 0) + slope·min(x, 0) with a slope per channel (one slope broadcasts to all). ncnn: `PReLU`.
public struct PReLU: Operator {
    public static let typeName = "prelu"
    public var slopes: [Float]

    public init(slopes: [Float]) { self.slopes = slopes }

    public func outputShape(inputs: [[Int]], layer: String) throws -> [Int] {
        let (_, c, _, _) = try nchw(inputs, layer: layer)
        guard slopes.count == 1 || slopes.count == c else {
            throw NeuralError.shapeMismatch("layer '\(layer)': \(slopes.count) slopes for \(c) channels")
        }
        return inputs[0]
    }

    static let registration = OperatorRegistration(PReLU.self, ncnn: ["PReLU"], read: { layer, reader in
        let count = try layer.parameters.int(0, default: 0)
        guard count > 0 else { throw NeuralError.unsupportedParameter(layer: layer.name, "PReLU with \(count) slopes") }
        return PReLU(slopes: try reader.readRaw(count, what: "slopes of '\(layer.name)'"))
    }, plan: { op, node, outShape, builder in
        if op.slopes.count == 1 { return try builder.planEltwise(node, .relu(slope: op.slopes[0])) }
        let src = try builder.input(node, 0)
        let dims = [1, op.slopes.count, 1, 1]
        let slopeLayout = try TensorLayout.like(src.layout, dims: dims)
        let primitive = try builder.engine.prelu(layout: src.layout, slopes: slopeLayout)
        let weights = try builder.constant(op.slopes, dims: dims, layout: slopeLayout)
        let dst = try builder.takeForInPlace(node, 0) ?? builder.place(shape: outShape, layout: src.layout)
        try builder.execute(primitive, [(.src, src.memory), (.weights, weights), (.dst, dst.memory)], label: node.name)
        builder.describe("\(node.name): prelu \(primitive.implementation)")
        builder.define(node, dst)
    })
}
