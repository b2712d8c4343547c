import Foundation
import OneDNN

/// Runs a graph on the CPU through oneDNN. Plans are compiled per set of input shapes and cached (a
/// tiled frame needs only a few shapes); all plans share one arena, so memory stays at the
/// largest plan's need. Calls are serialised: one executor runs one inference at a time.
public final class Executor: @unchecked Sendable {
    public let graph: Graph
    public let threads: Int
    private let engine: ComputeEngine
    private let lock = NSLock()
    private var plans: [[[Int]]: ExecutionPlan] = [:]
    private var recent: [[[Int]]] = []
    private var arena: AlignedBuffer?
    private let maxCachedPlans = 6

    public init(graph: Graph, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        self.graph = ShuffleAddFusion.apply(to: graph)
        self.threads = max(1, threads)
        engine = try ComputeEngine()
    }

    /// Runs on a tensor and returns the first output (single-input, single-output graphs).
    public func run(_ input: Tensor) throws -> Tensor {
        try run([input])[0]
    }

    /// Runs on one tensor per graph input and returns every graph output, in the graph's order.
    public func run(_ inputs: [Tensor]) throws -> [Tensor] {
        try run(inputShapes: inputs.map(\.shape), fill: { i, buffer in _ = buffer.update(fromContentsOf: inputs[i].data) },
                read: { outputs, shapes in zip(outputs, shapes).map { Tensor(shape: $1, data: Array($0)) } })
    }

    /// Runs without intermediate copies: `fill` writes the plain NCHW input in place, `read` sees the first output.
    public func run<R>(inputShape: [Int], fill: (UnsafeMutableBufferPointer<Float>) throws -> Void,
                       read: (UnsafeBufferPointer<Float>, [Int]) throws -> R) throws -> R {
        try run(inputShapes: [inputShape], fill: { _, buffer in try fill(buffer) }, read: { try read($0[0], $1[0]) })
    }

    /// Runs without intermediate copies: `fill(i, buffer)` writes graph input i (plain NCHW) in
    /// place, `read` sees every output with its shape.
    public func run<R>(inputShapes: [[Int]], fill: (Int, UnsafeMutableBufferPointer<Float>) throws -> Void,
                       read: ([UnsafeBufferPointer<Float>], [[Int]]) throws -> R) throws -> R {
        try execute(inputShapes: inputShapes, fill: fill, read: read, observe: nil)
    }

    /// Runs once and returns each step's wall time in milliseconds, in plan order (for benchmarks).
    public func profile(_ inputs: [Tensor]) throws -> [(step: String, milliseconds: Double)] {
        _ = try run(inputs)  // compile and warm up first
        var timings: [(step: String, milliseconds: Double)] = []
        try execute(inputShapes: inputs.map(\.shape), fill: { i, buffer in _ = buffer.update(fromContentsOf: inputs[i].data) },
                    read: { _, _ in }, observe: { timings.append(($0, $1)) })
        return timings
    }

    public func profile(_ input: Tensor) throws -> [(step: String, milliseconds: Double)] { try profile([input]) }

    /// The one run path; `observe`, when given, waits after each step and reports its time.
    private func execute<R>(inputShapes: [[Int]], fill: (Int, UnsafeMutableBufferPointer<Float>) throws -> Void,
                            read: ([UnsafeBufferPointer<Float>], [[Int]]) throws -> R,
                            observe: ((String, Double) -> Void)?) throws -> R {
        try lock.withLock {
            ComputeEngine.setThreadCount(threads)
            let plan = try plan(for: inputShapes)
            if arena == nil || arena!.byteCount < plan.arenaBytes { arena = AlignedBuffer(byteCount: plan.arenaBytes) }
            let base = arena!.pointer
            try plan.bind(base: base)
            for (i, shape) in inputShapes.enumerated() {
                try fill(i, UnsafeMutableBufferPointer(start: (base + plan.inputOffsets[i]).assumingMemoryBound(to: Float.self),
                                                       count: shape.reduce(1, *)))
            }
            for step in plan.steps {
                guard let observe else { try step.run(base); continue }
                let start = DispatchTime.now().uptimeNanoseconds
                try step.run(base)
                try engine.wait()
                observe(step.label, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            try engine.wait()
            let outputs = zip(plan.outputOffsets, plan.outputShapes).map {
                UnsafeBufferPointer(start: (base + $0).assumingMemoryBound(to: Float.self), count: $1.reduce(1, *))
            }
            return try read(outputs, plan.outputShapes)
        }
    }

    /// Bytes one inference at these shapes needs: activations arena, weights in compute layouts, host scratch.
    /// `keepPlan: false` compiles a plan only to measure it (for sizes that will not run).
    public func memoryFootprint(inputShapes: [[Int]], keepPlan: Bool = true) throws -> Int {
        try lock.withLock {
            let plan: ExecutionPlan
            if keepPlan {
                plan = try self.plan(for: inputShapes)
            } else {
                ComputeEngine.setThreadCount(threads)
                var builder = PlanBuilder(graph: graph, engine: engine, threads: threads)
                plan = try builder.build(inputShapes: inputShapes)
            }
            return plan.arenaBytes + plan.constantBytes + plan.hostScratchBytes
        }
    }

    public func memoryFootprint(inputShape: [Int]) throws -> Int { try memoryFootprint(inputShapes: [inputShape]) }

    /// Output shapes for input shapes (compiles the plan).
    public func outputShapes(inputShapes: [[Int]]) throws -> [[Int]] {
        try lock.withLock { try plan(for: inputShapes).outputShapes }
    }

    public func outputShape(inputShape: [Int]) throws -> [Int] { try outputShapes(inputShapes: [inputShape])[0] }

    /// Which implementation runs each layer, e.g. "Conv_2: convolution jit_wino_4x3:avx512_core".
    public func layerImplementations(inputShapes: [[Int]]) throws -> [String] {
        try lock.withLock { try plan(for: inputShapes).layers }
    }

    public func layerImplementations(inputShape: [Int]) throws -> [String] { try layerImplementations(inputShapes: [inputShape]) }

    private func plan(for shape: [[Int]]) throws -> ExecutionPlan {
        if let p = plans[shape] {
            recent.removeAll { $0 == shape }
            recent.append(shape)
            return p
        }
        ComputeEngine.setThreadCount(threads)
        var builder = PlanBuilder(graph: graph, engine: engine, threads: threads)
        let p = try builder.build(inputShapes: shape)
        plans[shape] = p
        recent.append(shape)
        if recent.count > maxCachedPlans { plans[recent.removeFirst()] = nil }
        return p
    }
}
