import OneDNN

/// Elementwise between two same-shaped tensors, or with a scalar when `scalar` is set.
/// ncnn: `BinaryOp` (no broadcasting).
public struct BinaryOp: Operator {
    public static let typeName = "binary"
    public var kind: BinaryOperation
    public var scalar: Float?

    public init(_ kind: BinaryOperation, scalar: Float? = nil) {
        self.kind = kind
        self.scalar = scalar
    }

    public var inputCount: ClosedRange<Int> { scalar == nil ? 2...2 : 1...1 }

    public func outputShape(inputs: [[Int]], layer: String) throws -> [Int] {
        _ = try nchw(inputs, layer: layer)
        if scalar == nil, inputs[1] != inputs[0] {
            throw NeuralError.shapeMismatch("layer '\(layer)': binary operands \(inputs) differ (broadcasting is not supported)")
        }
        return inputs[0]
    }

    static let registration = OperatorRegistration(BinaryOp.self, ncnn: ["BinaryOp"], read: { layer, _ in
        let p = layer.parameters
        let kinds: [BinaryOperation?] = [.add, .sub, .mul, .div, .max, .min, nil, .reverseSub, .reverseDiv]
        let type = try p.int(0, default: 0)
        guard type >= 0, type < kinds.count, let kind = kinds[type] else {
            throw NeuralError.unsupportedParameter(layer: layer.name, "BinaryOp op_type \(type)")
        }
        let withScalar = try p.int(1, default: 0) != 0
        return BinaryOp(kind, scalar: withScalar ? try p.float(2, default: 0) : nil)
    }, plan: { op, node, outShape, builder in
        if let scalar = op.scalar {
            try builder.planEltwise(node, try op.scalarActivation(scalar, layer: node.name))
        } else {
            try op.planTensors(node, outShape: outShape, &builder)
        }
    })

    /// A binary with a scalar is a pointwise linear map or clip.
    private func scalarActivation(_ b: Float, layer: String) throws -> Activation {
        switch kind {
        case .add: return .linear(scale: 1, shift: b)
        case .sub: return .linear(scale: 1, shift: -b)
        case .mul: return .linear(scale: b, shift: 0)
        case .div:
            guard b != 0 else { throw NeuralError.unsupportedParameter(layer: layer, "division by a zero scalar") }
            return .linear(scale: 1 / b, shift: 0)
        case .reverseSub: return .linear(scale: -1, shift: b)
        case .max: return .clip(min: b, max: .greatestFiniteMagnitude)
        case .min: return .clip(min: -.greatestFiniteMagnitude, max: b)
        case .reverseDiv: throw NeuralError.unsupportedParameter(layer: layer, "scalar divided by a tensor")
        }
    }

    private func planTensors(_ node: Node, outShape: [Int], _ builder: inout PlanBuilder) throws {
        var (ia, ib) = (0, 1)
        let op: BinaryKind
        switch kind {
        case .add: op = .add
        case .sub: op = .sub
        case .mul: op = .mul
        case .div: op = .div
        case .max: op = .max
        case .min: op = .min
        case .reverseSub: op = .sub; (ia, ib) = (1, 0)
        case .reverseDiv: op = .div; (ia, ib) = (1, 0)
        }
        let a = try builder.input(node, ia)
        let b = try builder.reordered(try builder.input(node, ib), to: a.layout, label: node.name)
        let primitive = try builder.engine.binary(op, a: a.layout, b: a.layout)
        let reusable = node.inputs[0] != node.inputs[1] ? builder.takeForInPlace(node, ia) : nil
        let dst = try reusable ?? builder.place(shape: outShape, layout: a.layout)
        try builder.execute(primitive, [(.src, a.memory), (.src1, b.memory), (.dst, dst.memory)], label: node.name)
        builder.describe("\(node.name): binary \(primitive.implementation)")
        builder.define(node, dst)
    }
}

public enum BinaryOperation: Sendable, Equatable {
    case add, sub, mul, div, max, min
    /// b − a and b / a (ncnn's reversed forms, used with scalars).
    case reverseSub, reverseDiv
}
