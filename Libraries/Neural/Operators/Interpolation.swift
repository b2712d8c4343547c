/// Resize by a scale or to a fixed size, nearest/bilinear/bicubic with ncnn's (and PyTorch's
/// `align_corners=False` half-pixel) conventions. ncnn: `Interp`. Kernel: `HostKernels.interpolate`.
public struct Interpolation: Operator, Equatable {
    public static let typeName = "interpolate"
    public var mode: InterpolationMode
    public var scale: (h: Float, w: Float)
    /// Fixed output size; 0 means "input × scale".
    public var outputSize: (h: Int, w: Int)
    public var alignCorners: Bool

    public init(mode: InterpolationMode, scale: (h: Float, w: Float), outputSize: (h: Int, w: Int) = (0, 0), alignCorners: Bool = false) {
        self.mode = mode
        self.scale = scale
        self.outputSize = outputSize
        self.alignCorners = alignCorners
    }

    public static func == (a: Interpolation, b: Interpolation) -> Bool {
        a.mode == b.mode && a.scale == b.scale && a.outputSize == b.outputSize && a.alignCorners == b.alignCorners
    }

    public func outputShape(inputs: [[Int]], layer: String) throws -> [Int] {
        let (n, c, h, w) = try nchw(inputs, layer: layer)
        let oh = outputSize.h > 0 ? outputSize.h : Int(Float(h) * scale.h)
        let ow = outputSize.w > 0 ? outputSize.w : Int(Float(w) * scale.w)
        guard oh > 0, ow > 0 else { throw NeuralError.shapeMismatch("layer '\(layer)': resize of \(h)×\(w) gives an empty output") }
        if mode == .bicubic && (h < 4 || w < 4) {
            throw NeuralError.shapeMismatch("layer '\(layer)': bicubic resize needs at least 4×4 input, got \(h)×\(w)")
        }
        return [n, c, oh, ow]
    }

    static let registration = OperatorRegistration(Interpolation.self, ncnn: ["Interp"], read: { layer, _ in
        let p = layer.parameters
        let modes: [Int: InterpolationMode] = [1: .nearest, 2: .bilinear, 3: .bicubic]
        let type = try p.int(0, default: 0)
        guard let mode = modes[type] else { throw NeuralError.unsupportedParameter(layer: layer.name, "Interp resize_type \(type)") }
        guard try p.int(5, default: 0) == 0 else { throw NeuralError.unsupportedParameter(layer: layer.name, "dynamic target size") }
        return Interpolation(mode: mode, scale: (try p.float(1, default: 1), try p.float(2, default: 1)),
                             outputSize: (try p.int(3, default: 0), try p.int(4, default: 0)), alignCorners: try p.int(6, default: 0) != 0)
    }, plan: { op, node, outShape, builder in
        try builder.planHost(node, outShape: outShape) { shapes, threads in
            { HostKernels.interpolate(op, src: $0[0], inShape: shapes[0], dst: $1, outShape: outShape, threads: threads) }
        }
    })
}

public enum InterpolationMode: Sendable, Equatable {
    case nearest, bilinear, bicubic
}
