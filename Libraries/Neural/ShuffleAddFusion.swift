/// Fuses Real-ESRGAN's residual tail — PixelShuffle(conv) + nearest-resized input — into one
/// `pixelShuffleAdd` node. Unfused, it is three passes over the full-resolution output plus a
/// reorder of the convolution's blocked output (≈20 ms of a 640×360 frame); fused, the host kernel
/// reads the blocked convolution output directly and writes each output pixel once.
enum ShuffleAddFusion {
    static func apply(to graph: Graph) -> Graph {
        var uses: [Int: Int] = [:]
        for node in graph.nodes { for v in node.inputs { uses[v, default: 0] += 1 } }
        for v in graph.outputs { uses[v, default: 0] += 1 }
        var producer: [Int: Int] = [:]
        for (i, node) in graph.nodes.enumerated() { for v in node.outputs { producer[v] = i } }

        var replaced: [Int: Node] = [:]  // add node index → fused node
        var removed = Set<Int>()
        for (i, node) in graph.nodes.enumerated() {
            guard let add = node.operation as? BinaryOp, add.kind == .add, add.scalar == nil, node.inputs.count == 2, node.inputs[0] != node.inputs[1] else { continue }
            // Either operand order: one pixel shuffle, one nearest resize, each read only by this add.
            for (a, b) in [(0, 1), (1, 0)] {
                guard let ps = producer[node.inputs[a]], let rs = producer[node.inputs[b]],
                      !removed.contains(ps), !removed.contains(rs),
                      uses[node.inputs[a]] == 1, uses[node.inputs[b]] == 1,
                      let shuffle = graph.nodes[ps].operation as? PixelShuffle,
                      let skip = graph.nodes[rs].operation as? Interpolation, skip.mode == .nearest else { continue }
                replaced[i] = Node(name: node.name, operation: PixelShuffleAdd(factor: shuffle.factor, skip: skip),
                                   inputs: [graph.nodes[ps].inputs[0], graph.nodes[rs].inputs[0]], outputs: node.outputs)
                removed.formUnion([ps, rs])
                break
            }
        }
        var g = graph
        // The add comes after both producers, so its inputs' producers have already run there.
        g.nodes = graph.nodes.enumerated().compactMap { i, node in removed.contains(i) ? nil : (replaced[i] ?? node) }
        return g
    }
}
