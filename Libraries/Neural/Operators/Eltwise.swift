import OneDNN

/// N-ary sum with coefficients, product or maximum of same-shaped tensors. ncnn: `Eltwise`.
public struct Eltwise: Operator {
    public static let typeName = "eltwise"
    public var kind: EltwiseOperation
    public var coefficients: [Float]

    public init(_ kind: EltwiseOperation, coefficients: [Float] = []) {
        self.kind = kind
        self.coefficients = coefficients
    }

    public var inputCount: ClosedRange<Int> { 1...Int.max }

    public func outputShape(inputs: [[Int]], layer: String) throws -> [Int] {
        _ = try nchw(inputs, layer: layer)
        guard inputs.allSatisfy({ $0 == inputs[0] }) else { throw NeuralError.shapeMismatch("layer '\(layer)': eltwise operands \(inputs) differ") }
        guard coefficients.isEmpty || coefficients.count == inputs.count else {
            throw NeuralError.shapeMismatch("layer '\(layer)': \(coefficients.count) coefficients for \(inputs.count) inputs")
        }
        return inputs[0]
    }

    static let registration = OperatorRegistration(Eltwise.self, ncnn: ["Eltwise"], read: { layer, _ in
        let p = layer.parameters
        let type = try p.int(0, default: 0)
        let kinds: [EltwiseOperation] = [.product, .sum, .max]
        guard type >= 0, type < 3 else { throw NeuralError.unsupportedParameter(layer: layer.name, "Eltwise op_type \(type)") }
        let coefficients = try p.floats(1)
        if kinds[type] != .sum && !coefficients.isEmpty {
            throw NeuralError.unsupportedParameter(layer: layer.name, "coefficients on a non-sum Eltwise")
        }
        return Eltwise(kinds[type], coefficients: coefficients)
    }, plan: { op, node, outShape, builder in
        let sources = try node.inputs.indices.map { try builder.input(node, $0) }
        let layout = sources[0].layout
        let dst = try builder.place(shape: outShape, layout: layout)
        switch op.kind {
        case .sum:
            let scales = op.coefficients.isEmpty ? [Float](repeating: 1, count: sources.count) : op.coefficients
            let primitive = try builder.engine.sum(scales: scales, sources: sources.map(\.layout), dst: layout)
            var args: [(Argument, Memory)] = sources.enumerated().map { (.multipleSrc($0.offset), $0.element.memory) }
            args.append((.dst, dst.memory))
            try builder.execute(primitive, args, label: node.name)
            builder.describe("\(node.name): sum \(primitive.implementation)")
        case .product, .max:
            let kind: BinaryKind = op.kind == .product ? .mul : .max
            var accumulated = sources[0].memory
            for s in sources.dropFirst() {
                let b = try builder.reordered(s, to: layout, label: node.name)
                let primitive = try builder.engine.binary(kind, a: layout, b: layout)
                try builder.execute(primitive, [(.src, accumulated), (.src1, b.memory), (.dst, dst.memory)], label: node.name)
                accumulated = dst.memory
            }
            builder.describe("\(node.name): eltwise \(op.kind)")
        }
        builder.define(node, dst)
    })
}

public enum EltwiseOperation: Sendable, Equatable {
    case product, sum, max
}
