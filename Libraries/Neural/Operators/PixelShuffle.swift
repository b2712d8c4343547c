/// out[c][y·r+i][x·r+j] = in[c·r²+i·r+j][y][x] (PyTorch's order). ncnn: `PixelShuffle` (mode 0).
public struct PixelShuffle: Operator {
    public static let typeName = "pixel-shuffle"
    public var factor: Int

    public init(factor: Int) { self.factor = factor }

    public func outputShape(inputs: [[Int]], layer: String) throws -> [Int] {
        let (n, c, h, w) = try nchw(inputs, layer: layer)
        let r = factor
        guard r >= 1, c % (r * r) == 0 else { throw NeuralError.shapeMismatch("layer '\(layer)': \(c) channels not divisible by \(r * r)") }
        return [n, c / (r * r), h * r, w * r]
    }

    static let registration = OperatorRegistration(PixelShuffle.self, ncnn: ["PixelShuffle"], read: { layer, _ in
        let r = try layer.parameters.int(0, default: 1)
        guard r >= 1, try layer.parameters.int(1, default: 0) == 0 else {
            throw NeuralError.unsupportedParameter(layer: layer.name, "PixelShuffle factor \(r) / mode")
        }
        return PixelShuffle(factor: r)
    }, plan: { op, node, outShape, builder in
        try builder.planHost(node, outShape: outShape) { shapes, threads in
            { HostKernels.pixelShuffle(factor: op.factor, src: $0[0], inShape: shapes[0], dst: $1, threads: threads) }
        }
    })
}

extension HostKernels {
    /// out[c][y·r+i][x·r+j] = in[c·r²+i·r+j][y][x] (PyTorch's PixelShuffle order).
    static func pixelShuffle(factor r: Int, src: UnsafePointer<Float>, inShape: [Int], dst: UnsafeMutablePointer<Float>, threads: Int) {
        let (n, c, h, w) = (inShape[0], inShape[1], inShape[2], inShape[3])
        let oc = c / (r * r), ow = w * r
        parallel(n * oc, threads: threads) { range in
            for plane in range {
                let b = plane / oc, q = plane % oc
                let out = dst + plane * h * r * ow
                for i in 0..<r {
                    for j in 0..<r {
                        let s = src + ((b * c) + q * r * r + i * r + j) * h * w
                        for y in 0..<h {
                            let row = s + y * w, o = out + (y * r + i) * ow + j
                            for x in 0..<w { o[x * r] = row[x] }
                        }
                    }
                }
            }
        }
    }
}
