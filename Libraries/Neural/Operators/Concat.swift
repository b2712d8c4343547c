import OneDNN

/// Join along an NCHW axis (1 = channels). ncnn: `Concat` (its axes count over C×H×W).
public struct Concat: Operator {
    public static let typeName = "concat"
    public var axis: Int

    public init(axis: Int) { self.axis = axis }

    public var inputCount: ClosedRange<Int> { 1...Int.max }

    public func outputShape(inputs: [[Int]], layer: String) throws -> [Int] {
        _ = try nchw(inputs, layer: layer)
        guard axis >= 1, axis <= 3 else { throw NeuralError.unsupportedParameter(layer: layer, "concat axis \(axis)") }
        var out = inputs[0]
        out[axis] = 0
        for s in inputs {
            for a in 0..<4 where a != axis && s[a] != inputs[0][a] {
                throw NeuralError.shapeMismatch("layer '\(layer)': concat operands \(inputs) differ off axis \(axis)")
            }
            out[axis] += s[axis]
        }
        return out
    }

    static let registration = OperatorRegistration(Concat.self, ncnn: ["Concat"], read: { layer, _ in
        // −1 is the last axis.
        var axis = try layer.parameters.int(0, default: 0)
        if axis < 0 { axis += 3 }
        guard (0...2).contains(axis) else { throw NeuralError.unsupportedParameter(layer: layer.name, "Concat axis \(axis)") }
        return Concat(axis: axis + 1)
    }, plan: { op, node, outShape, builder in
        let sources = try node.inputs.indices.map { try builder.input(node, $0) }
        // Channel joins of whole 16-channel blocks stay blocked (no reorder for the consumer).
        let blockFriendly = op.axis == 1 && sources.allSatisfy { !$0.layout.isPlain && $0.shape[1] % 16 == 0 }
        let layout = blockFriendly ? try TensorLayout.blocked16(outShape) : try TensorLayout.plain(outShape)
        let dst = try builder.place(shape: outShape, layout: layout)
        let primitive = try builder.engine.concat(axis: op.axis, sources: sources.map(\.layout), dst: layout)
        var args: [(Argument, Memory)] = sources.enumerated().map { (.multipleSrc($0.offset), $0.element.memory) }
        args.append((.dst, dst.memory))
        try builder.execute(primitive, args, label: node.name)
        builder.describe("\(node.name): concat \(primitive.implementation)")
        builder.define(node, dst)
    })
}
