/// A pointwise activation as its own layer. ncnn: `ReLU`, `Sigmoid`, `Clip`.
public struct ActivationLayer: Operator {
    public static let typeName = "activation"
    public var function: ActivationFunction

    public init(_ function: ActivationFunction) { self.function = function }

    public func outputShape(inputs: [[Int]], layer: String) throws -> [Int] {
        _ = try nchw(inputs, layer: layer)
        return inputs[0]
    }

    static let registration = OperatorRegistration(ActivationLayer.self, ncnn: ["ReLU", "Sigmoid", "Clip"], read: { layer, _ in
        let p = layer.parameters
        switch layer.type {
        case "ReLU": return ActivationLayer(.relu(slope: try p.float(0, default: 0)))
        case "Sigmoid": return ActivationLayer(.sigmoid)
        default:
            return ActivationLayer(.clip(min: try p.float(0, default: -.greatestFiniteMagnitude), max: try p.float(1, default: .greatestFiniteMagnitude)))
        }
    }, plan: { op, node, _, builder in
        try builder.planEltwise(node, builder.activation(op.function))
    })
}

public enum ActivationFunction: Sendable, Equatable {
    /// max(x,0) + slope·min(x,0).
    case relu(slope: Float)
    case sigmoid
    case clip(min: Float, max: Float)

    /// ncnn's fused-activation parameters (`activation_type`, `activation_params`); nil for none.
    init?(ncnnType type: Int, parameters: [Float], layer: String) throws {
        switch type {
        case 0: return nil
        case 1: self = .relu(slope: 0)
        case 2: self = .relu(slope: parameters.first ?? 0)
        case 3:
            guard parameters.count == 2 else { throw NeuralError.unsupportedParameter(layer: layer, "clip activation without bounds") }
            self = .clip(min: parameters[0], max: parameters[1])
        case 4: self = .sigmoid
        default: throw NeuralError.unsupportedParameter(layer: layer, "activation type \(type)")
        }
    }
}
