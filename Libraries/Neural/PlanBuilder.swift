import NeuralKernels
import OneDNN

/// Compiles a graph for one input shape. Tensors stay in whatever layout the producing primitive
/// chose (blocked for convolutions) and are reordered only where a consumer needs another one;
/// elementwise layers run in place when their input dies with them.
struct PlanBuilder {
    struct Placed {
        var shape: [Int]
        var layout: TensorLayout
        var offset: Int
        var memory: Memory
    }

    let graph: Graph
    let engine: ComputeEngine
    let threads: Int
    var allocator = ArenaAllocator()
    var placed: [Int: Placed] = [:]
    var uses: [Int: Int] = [:]
    var steps: [PlanStep] = []
    var bindings: [(Memory, Int)] = []
    var constants: [AlignedBuffer] = []
    var layers: [String] = []
    var temporaries: [Int] = []
    /// Scratchpad memories share one region placed after everything else (steps run one at a time).
    var scratchpads: [Memory] = []
    var scratchpadBytes = 0
    /// Scratch for host kernels, grown while planning; steps read it when they run.
    let hostScratch = HostScratch()
    /// Nodes whose work an earlier node absorbed (a PReLU fused into its convolution).
    var fusedAway = Set<Int>()

    init(graph: Graph, engine: ComputeEngine, threads: Int) {
        self.graph = graph
        self.engine = engine
        self.threads = threads
    }

    mutating func build(inputShapes: [[Int]]) throws -> ExecutionPlan {
        guard graph.inputs.count == inputShapes.count, !graph.outputs.isEmpty else {
            throw NeuralError.shapeMismatch("graph '\(graph.name)' has \(graph.inputs.count) inputs and \(graph.outputs.count) outputs; given \(inputShapes.count) inputs")
        }
        for shape in inputShapes where shape.count != 4 || !shape.allSatisfy({ $0 > 0 }) {
            throw NeuralError.shapeMismatch("input shape \(shape) is not a non-empty NCHW shape")
        }
        for node in graph.nodes { for v in node.inputs { uses[v, default: 0] += 1 } }
        for v in graph.outputs { uses[v, default: 0] += 1 }  // outputs stay alive to the end
        var inputOffsets: [Int] = []
        for (value, shape) in zip(graph.inputs, inputShapes) {
            let input = try place(shape: shape, layout: .plain(shape))
            placed[value] = input
            inputOffsets.append(input.offset)
        }
        for (index, node) in graph.nodes.enumerated() {
            if !fusedAway.contains(index) { try plan(node) }
            for t in temporaries { allocator.release(t) }
            temporaries.removeAll()
            for v in Set(node.inputs) {
                uses[v, default: 0] -= node.inputs.filter { $0 == v }.count
                if uses[v] == 0, let p = placed.removeValue(forKey: v) { allocator.release(p.offset) }
            }
        }
        var outputOffsets: [Int] = [], outputShapes: [[Int]] = []
        for v in graph.outputs {
            guard let out = placed[v] else { throw NeuralError.malformedModel("output '\(graph.valueNames[v])' was never produced") }
            outputOffsets.append(try plainOffset(of: out, label: "output \(graph.valueNames[v])"))
            outputShapes.append(out.shape)
        }
        // Above every tensor: offsets freed by now were live while earlier steps ran.
        let region = allocator.highWater
        for m in scratchpads { bindings.append((m, region)) }
        return ExecutionPlan(inputShapes: inputShapes, outputShapes: outputShapes, inputOffsets: inputOffsets, outputOffsets: outputOffsets,
                             arenaBytes: region + scratchpadBytes, hostScratchBytes: hostScratch.bytes, layers: layers, steps: steps,
                             bindings: bindings, constants: constants)
    }

    // MARK: helpers

    mutating func memory(_ layout: TensorLayout, offset: Int) throws -> Memory {
        let m = try Memory(layout: layout, engine: engine)
        bindings.append((m, offset))
        return m
    }

    mutating func place(shape: [Int], layout: TensorLayout) throws -> Placed {
        let offset = allocator.allocate(layout.byteCount)
        return Placed(shape: shape, layout: layout, offset: offset, memory: try memory(layout, offset: offset))
    }

    func input(_ node: Node, _ i: Int) throws -> Placed {
        guard let p = placed[node.inputs[i]] else {
            throw NeuralError.malformedModel("layer '\(node.name)' reads '\(graph.valueNames[node.inputs[i]])' before it exists")
        }
        return p
    }

    /// The input's buffer when this node is its last reader (so it may be overwritten).
    mutating func takeForInPlace(_ node: Node, _ i: Int) -> Placed? {
        let v = node.inputs[i]
        guard uses[v] == node.inputs.filter({ $0 == v }).count, node.inputs.filter({ $0 == v }).count == 1,
              let p = placed.removeValue(forKey: v) else { return nil }
        return p
    }

    mutating func execute(_ primitive: Primitive, _ args: [(Argument, Memory)], label: String) throws {
        var args = args
        if let layout = primitive.scratchpadLayout {
            let m = try Memory(layout: layout, engine: engine)
            scratchpads.append(m)
            scratchpadBytes = max(scratchpadBytes, layout.byteCount)
            args.append((.scratchpad, m))
        }
        steps.append(PlanStep(label: label) { _ in try primitive.execute(args) })
    }

    mutating func reordered(_ p: Placed, to layout: TensorLayout, label: String) throws -> Placed {
        if p.layout == layout { return p }
        let t = try place(shape: p.shape, layout: layout)
        temporaries.append(t.offset)
        try execute(try engine.reorder(from: p.layout, to: layout), [(.src, p.memory), (.dst, t.memory)], label: label + " reorder")
        return t
    }

    /// Offset of a plain NCHW copy of `p` (itself when already plain).
    mutating func plainOffset(of p: Placed, label: String) throws -> Int {
        try reordered(p, to: .plain(p.shape), label: label).offset
    }

    /// Weights or slopes copied once into the layout a primitive wants.
    mutating func constant(_ values: [Float], dims: [Int], layout: TensorLayout) throws -> Memory {
        let plain = try TensorLayout.plain(dims)
        let buffer = AlignedBuffer(byteCount: layout.byteCount)
        constants.append(buffer)
        let target = try Memory(layout: layout, engine: engine, handle: buffer.pointer)
        var values = values
        try values.withUnsafeMutableBytes { raw in
            let source = try Memory(layout: plain, engine: engine, handle: raw.baseAddress!)
            let reorder = try engine.reorder(from: plain, to: layout)
            var args: [(Argument, Memory)] = [(.src, source), (.dst, target)]
            var scratch: AlignedBuffer?
            if let s = reorder.scratchpadLayout {
                scratch = AlignedBuffer(byteCount: s.byteCount)
                args.append((.scratchpad, try Memory(layout: s, engine: engine, handle: scratch!.pointer)))
            }
            try reorder.execute(args)
            try engine.wait()
            withExtendedLifetime(scratch) {}
        }
        return target
    }

    mutating func define(_ node: Node, _ p: Placed) {
        placed[node.outputs[0]] = p
    }
    // MARK: nodes

    /// Finds the node's operator in the registry (by name) and lets it plan itself; an operator
    /// the registry does not list fails here, before anything runs.
    private mutating func plan(_ node: Node) throws {
        let shapes = try node.inputs.indices.map { try input(node, $0).shape }
        let outShape = try node.operation.outputShape(inputs: shapes, layer: node.name)
        guard let registration = OperatorRegistry.byName[node.operation.typeName] else {
            throw NeuralError.unsupportedLayer(name: node.name, type: node.operation.typeName)
        }
        try registration.plan(node.operation, node, outShape, &self)
    }

    /// Notes which implementation runs a layer ("name: kind implementation").
    mutating func describe(_ line: String) { layers.append(line) }

    /// A step run on the host once oneDNN's queued work is done; `body` gets the arena's base.
    mutating func hostStep(_ label: String, _ body: @escaping (UnsafeMutableRawPointer, Int) -> Void) {
        let (engine, threads) = (engine, threads)
        steps.append(PlanStep(label: label) { base in
            try engine.wait()
            body(base, threads)
        })
    }

    typealias HostKernel = ([UnsafePointer<Float>], UnsafeMutablePointer<Float>) -> Void

    /// An operator that runs on the host over plain NCHW buffers: inputs are made plain, the output
    /// is plain; `kernel(inputShapes, threads)` returns the function the step runs.
    mutating func planHost(_ node: Node, outShape: [Int], kernel: ([[Int]], Int) throws -> HostKernel) throws {
        let sources = try node.inputs.indices.map { try input(node, $0) }
        let offsets = try sources.map { try plainOffset(of: $0, label: node.name) }
        let run = try kernel(sources.map(\.shape), threads)
        let dst = try place(shape: outShape, layout: .plain(outShape))
        let outOffset = dst.offset
        hostStep(node.name) { base, _ in
            run(offsets.map { UnsafePointer((base + $0).assumingMemoryBound(to: Float.self)) },
                (base + outOffset).assumingMemoryBound(to: Float.self))
        }
        describe("\(node.name): \(node.operation.typeName) host")
        define(node, dst)
    }

    mutating func planEltwise(_ node: Node, _ act: Activation) throws {
        let src = try input(node, 0)
        let primitive = try engine.eltwise(act, layout: src.layout)
        let dst = try takeForInPlace(node, 0) ?? place(shape: src.shape, layout: src.layout)
        try execute(primitive, [(.src, src.memory), (.dst, dst.memory)], label: node.name)
        layers.append("\(node.name): eltwise \(primitive.implementation)")
        define(node, dst)
    }

    // MARK: activation mapping

    func activation(_ f: ActivationFunction) -> Activation {
        switch f {
        case .relu(let slope): return .relu(slope: slope)
        case .sigmoid: return .sigmoid
        case .clip(let lo, let hi): return .clip(min: lo, max: hi)
        }
    }
}
