/// Backward warp of input 0 by the flow (u, v) at channels `flowChannel`… of input 1, with
/// PyTorch `grid_sample` semantics as RIFE uses it. Kernel: `BackwardWarp`.
public struct Warp: Operator {
    public static let typeName = "warp"
    public var flowChannel: Int

    public init(flowChannel: Int) { self.flowChannel = flowChannel }

    public var inputCount: ClosedRange<Int> { 2...2 }

    public func outputShape(inputs: [[Int]], layer: String) throws -> [Int] {
        let (n, _, h, w) = try nchw(inputs, layer: layer)
        let flow = inputs[1], k = flowChannel
        guard flow[0] == n, flow[2] == h, flow[3] == w, k >= 0, k + 2 <= flow[1] else {
            throw NeuralError.shapeMismatch("layer '\(layer)': warp needs a flow of \(n)×≥\(k + 2)×\(h)×\(w), got \(flow)")
        }
        return inputs[0]
    }

    static let registration = OperatorRegistration(Warp.self, plan: { op, node, outShape, builder in
        try builder.planHost(node, outShape: outShape) { shapes, threads in
            let (image, flowChannels) = (shapes[0], shapes[1][1])
            return {
                BackwardWarp.run(image: $0[0], channels: image[1], flow: $0[1], flowChannels: flowChannels, flowChannel: op.flowChannel,
                                 batch: image[0], height: image[2], width: image[3], dst: $1, threads: threads)
            }
        }
    })
}
