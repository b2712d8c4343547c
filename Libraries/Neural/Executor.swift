import Foundation
import OneDNN

/// Runs a graph on the CPU through oneDNN. Plans are compiled per input shape and cached (a
/// tiled frame needs only a few shapes); all plans share one arena, so memory stays at the
/// largest plan's need. Calls are serialised: one executor runs one inference at a time.
public final class Executor: @unchecked Sendable {
    public let graph: Graph
    public let threads: Int
    private let engine: ComputeEngine
    private let lock = NSLock()
    private var plans: [[Int]: ExecutionPlan] = [:]
    private var recent: [[Int]] = []
    private var arena: AlignedBuffer?
    private let maxCachedPlans = 6

    public init(graph: Graph, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        self.graph = ShuffleAddFusion.apply(to: graph)
        self.threads = max(1, threads)
        engine = try ComputeEngine()
    }

    /// Runs on a tensor and returns the (single) output.
    public func run(_ input: Tensor) throws -> Tensor {
        try run(inputShape: input.shape, fill: { _ = $0.update(fromContentsOf: input.data) },
                read: { Tensor(shape: $1, data: Array($0)) })
    }

    /// Runs without intermediate copies: `fill` writes the plain NCHW input in place, `read` sees the output.
    public func run<R>(inputShape: [Int], fill: (UnsafeMutableBufferPointer<Float>) throws -> Void,
                       read: (UnsafeBufferPointer<Float>, [Int]) throws -> R) throws -> R {
        try execute(inputShape: inputShape, fill: fill, read: read, observe: nil)
    }

    /// Runs once and returns each step's wall time in milliseconds, in plan order (for benchmarks).
    public func profile(_ input: Tensor) throws -> [(step: String, milliseconds: Double)] {
        _ = try run(input)  // compile and warm up first
        var timings: [(step: String, milliseconds: Double)] = []
        try execute(inputShape: input.shape, fill: { _ = $0.update(fromContentsOf: input.data) }, read: { _, _ in },
                    observe: { timings.append(($0, $1)) })
        return timings
    }

    /// The one run path; `observe`, when given, waits after each step and reports its time.
    private func execute<R>(inputShape: [Int], fill: (UnsafeMutableBufferPointer<Float>) throws -> Void,
                            read: (UnsafeBufferPointer<Float>, [Int]) throws -> R,
                            observe: ((String, Double) -> Void)?) throws -> R {
        try lock.withLock {
            ComputeEngine.setThreadCount(threads)
            let plan = try plan(for: inputShape)
            if arena == nil || arena!.byteCount < plan.arenaBytes { arena = AlignedBuffer(byteCount: plan.arenaBytes) }
            let base = arena!.pointer
            try plan.bind(base: base)
            try fill(UnsafeMutableBufferPointer(start: (base + plan.inputOffset).assumingMemoryBound(to: Float.self),
                                                count: inputShape.reduce(1, *)))
            for step in plan.steps {
                guard let observe else { try step.run(base); continue }
                let start = DispatchTime.now().uptimeNanoseconds
                try step.run(base)
                try engine.wait()
                observe(step.label, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            try engine.wait()
            return try read(UnsafeBufferPointer(start: (base + plan.outputOffset).assumingMemoryBound(to: Float.self),
                                                count: plan.outputShape.reduce(1, *)), plan.outputShape)
        }
    }

    /// Bytes one inference at this shape needs: activations arena plus weights in compute layouts.
    public func memoryFootprint(inputShape: [Int]) throws -> Int {
        try lock.withLock {
            let plan = try plan(for: inputShape)
            return plan.arenaBytes + plan.constantBytes + plan.hostScratchBytes
        }
    }

    /// Output shape for an input shape (compiles the plan).
    public func outputShape(inputShape: [Int]) throws -> [Int] {
        try lock.withLock { try plan(for: inputShape).outputShape }
    }

    /// Which implementation runs each layer, e.g. "Conv_2: convolution jit_wino_4x3:avx512_core".
    public func layerImplementations(inputShape: [Int]) throws -> [String] {
        try lock.withLock { try plan(for: inputShape).layers }
    }

    private func plan(for shape: [Int]) throws -> ExecutionPlan {
        if let p = plans[shape] {
            recent.removeAll { $0 == shape }
            recent.append(shape)
            return p
        }
        ComputeEngine.setThreadCount(threads)
        var builder = PlanBuilder(graph: graph, engine: engine, threads: threads)
        let p = try builder.build(inputShape: shape)
        plans[shape] = p
        recent.append(shape)
        if recent.count > maxCachedPlans { plans[recent.removeFirst()] = nil }
        return p
    }
}
