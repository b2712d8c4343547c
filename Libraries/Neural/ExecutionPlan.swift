import OneDNN

/// One step of a compiled plan; `base` is the arena's current address.
struct PlanStep {
    let label: String
    let run: (UnsafeMutableRawPointer) throws -> Void
}

/// A graph compiled for one set of input shapes: primitives created, weights reordered into the
/// layouts the primitives chose, every intermediate tensor given an offset in a shared arena.
/// Inputs and outputs are plain NCHW at fixed offsets, in the graph's order.
final class ExecutionPlan {
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    let inputOffsets: [Int]
    let outputOffsets: [Int]
    let arenaBytes: Int
    let constantBytes: Int
    /// Working memory of host kernels (F(6,3) tile blocks), allocated on the first run.
    let hostScratchBytes: Int
    /// "layer: implementation" lines, for benchmarks and debugging.
    let layers: [String]
    let steps: [PlanStep]
    private let bindings: [(Memory, Int)]
    private let constants: [AlignedBuffer]
    private var boundBase: UnsafeMutableRawPointer?

    init(inputShapes: [[Int]], outputShapes: [[Int]], inputOffsets: [Int], outputOffsets: [Int], arenaBytes: Int, hostScratchBytes: Int,
         layers: [String], steps: [PlanStep], bindings: [(Memory, Int)], constants: [AlignedBuffer]) {
        self.inputShapes = inputShapes
        self.outputShapes = outputShapes
        self.inputOffsets = inputOffsets
        self.outputOffsets = outputOffsets
        self.arenaBytes = arenaBytes
        self.hostScratchBytes = hostScratchBytes
        self.layers = layers
        self.steps = steps
        self.bindings = bindings
        self.constants = constants
        constantBytes = constants.reduce(0) { $0 + $1.byteCount }
    }

    /// Points every memory object at the arena; only needed when the arena moved.
    func bind(base: UnsafeMutableRawPointer) throws {
        guard boundBase != base else { return }
        for (memory, offset) in bindings { try memory.setHandle(base + offset) }
        boundBase = base
    }
}
