import Foundation

/// out = a·σ(m) + b·(1 − σ(m)), m being channel `maskChannel` of input 2: RIFE's final merge of the
/// two warped frames by its occlusion mask.
public struct MaskedBlend: Operator {
    public static let typeName = "masked-blend"
    public var maskChannel: Int

    public init(maskChannel: Int) { self.maskChannel = maskChannel }

    public var inputCount: ClosedRange<Int> { 3...3 }

    public func outputShape(inputs: [[Int]], layer: String) throws -> [Int] {
        let (n, _, h, w) = try nchw(inputs, layer: layer)
        let mask = inputs[2], k = maskChannel
        guard inputs[1] == inputs[0], mask[0] == n, mask[2] == h, mask[3] == w, k >= 0, k < mask[1] else {
            throw NeuralError.shapeMismatch("layer '\(layer)': masked blend needs two equal images and a mask with channel \(k), got \(inputs)")
        }
        return inputs[0]
    }

    static let registration = OperatorRegistration(MaskedBlend.self, plan: { op, node, outShape, builder in
        try builder.planHost(node, outShape: outShape) { shapes, threads in
            let (image, maskChannels) = (shapes[0], shapes[2][1])
            return {
                MaskedBlend.run(a: $0[0], b: $0[1], channels: image[1], mask: $0[2], maskChannels: maskChannels, maskChannel: op.maskChannel,
                                batch: image[0], plane: image[2] * image[3], dst: $1, threads: threads)
            }
        }
    })

    static func run(a: UnsafePointer<Float>, b: UnsafePointer<Float>, channels: Int, mask: UnsafePointer<Float>, maskChannels: Int,
                    maskChannel: Int, batch: Int, plane: Int, dst: UnsafeMutablePointer<Float>, threads: Int) {
        // Rows of 1024 pixels: the sigmoid is computed once per pixel for all channels.
        let chunk = 1024, chunks = (plane + chunk - 1) / chunk
        HostKernels.parallel(batch * chunks, threads: threads) { parts in
            var weights = [Float](repeating: 0, count: chunk)
            for part in parts {
                let n = part / chunks, start = (part % chunks) * chunk, count = min(chunk, plane - start)
                let m = mask + (n * maskChannels + maskChannel) * plane + start
                for i in 0..<count { weights[i] = 1 / (1 + exp(-m[i])) }
                for c in 0..<channels {
                    let offset = (n * channels + c) * plane + start
                    let (pa, pb, out) = (a + offset, b + offset, dst + offset)
                    for i in 0..<count { out[i] = pa[i] * weights[i] + pb[i] * (1 - weights[i]) }
                }
            }
        }
    }
}
