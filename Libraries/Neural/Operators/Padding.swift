/// Border padding of the spatial axes. ncnn: `Padding` (constant, replicate, reflect; no channel padding).
public struct Padding: Operator, Equatable {
    public static let typeName = "padding"
    public var top: Int, bottom: Int, left: Int, right: Int
    public var mode: BorderMode

    public init(top: Int, bottom: Int, left: Int, right: Int, mode: BorderMode) {
        self.top = top
        self.bottom = bottom
        self.left = left
        self.right = right
        self.mode = mode
    }

    public func outputShape(inputs: [[Int]], layer: String) throws -> [Int] {
        let (n, c, h, w) = try nchw(inputs, layer: layer)
        if mode == .reflect && (top >= h || bottom >= h || left >= w || right >= w) {
            throw NeuralError.shapeMismatch("layer '\(layer)': reflect padding must be smaller than the input \(h)×\(w)")
        }
        return [n, c, h + top + bottom, w + left + right]
    }

    static let registration = OperatorRegistration(Padding.self, ncnn: ["Padding"], read: { layer, _ in
        let p = layer.parameters, name = layer.name
        let type = try p.int(4, default: 0)
        let mode: BorderMode
        switch type {
        case 0: mode = .constant(try p.float(5, default: 0))
        case 1: mode = .replicate
        case 2: mode = .reflect
        default: throw NeuralError.unsupportedParameter(layer: name, "Padding type \(type)")
        }
        guard try p.int(6, default: 0) == 0, try p.int(7, default: 0) == 0, try p.int(8, default: 0) == 0 else {
            throw NeuralError.unsupportedParameter(layer: name, "per-channel or channel-axis padding")
        }
        let top = try p.int(0, default: 0), bottom = try p.int(1, default: 0), left = try p.int(2, default: 0), right = try p.int(3, default: 0)
        guard min(top, bottom, left, right) >= 0 else { throw NeuralError.unsupportedParameter(layer: name, "negative padding") }
        return Padding(top: top, bottom: bottom, left: left, right: right, mode: mode)
    }, plan: { op, node, outShape, builder in
        try builder.planHost(node, outShape: outShape) { shapes, threads in
            { HostKernels.pad(op, src: $0[0], inShape: shapes[0], dst: $1, threads: threads) }
        }
    })
}

public enum BorderMode: Sendable, Equatable {
    case constant(Float)
    case replicate
    /// Mirror without repeating the edge pixel (ncnn's type 2, numpy's "reflect").
    case reflect
}

extension HostKernels {
    static func pad(_ p: Padding, src: UnsafePointer<Float>, inShape: [Int], dst: UnsafeMutablePointer<Float>, threads: Int) {
        let (h, w) = (inShape[2], inShape[3])
        let oh = h + p.top + p.bottom, ow = w + p.left + p.right
        parallel(inShape[0] * inShape[1], threads: threads) { range in
            for plane in range {
                let s = src + plane * h * w, d = dst + plane * oh * ow
                for y in 0..<oh {
                    let out = d + y * ow
                    let sy = borderIndex(y - p.top, h, p.mode)
                    for x in 0..<ow {
                        let sx = borderIndex(x - p.left, w, p.mode)
                        if let sy, let sx { out[x] = s[sy * w + sx] } else if case .constant(let v) = p.mode { out[x] = v }
                    }
                }
            }
        }
    }

    /// Source index for an output coordinate outside [0, n): nil means "use the constant".
    @inline(__always)
    static func borderIndex(_ i: Int, _ n: Int, _ mode: BorderMode) -> Int? {
        if i >= 0 && i < n { return i }
        switch mode {
        case .constant: return nil
        case .replicate: return min(max(i, 0), n - 1)
        case .reflect:
            guard n > 1 else { return 0 }
            var j = i
            // Mirror repeatedly so even paddings wider than the image stay in range.
            while j < 0 || j >= n { j = j < 0 ? -j : 2 * (n - 1) - j }
            return j
        }
    }
}
