/// One operation of the graph IR: its parameters and the shape it makes. Each operator lives in
/// its own file in this folder, with how the ncnn importer reads it and how the CPU planner runs
/// it, and is listed once in `OperatorRegistry`; the planner finds it there by `typeName`, so an
/// operator the registry does not list fails when a plan is built, before anything runs.
public protocol Operator: Sendable {
    /// The name the registry knows this operator by ("convolution", "warp", …).
    static var typeName: String { get }
    /// How many inputs a node of this operator takes.
    var inputCount: ClosedRange<Int> { get }
    /// NCHW output shape for the given input shapes; throws naming the layer on mismatches.
    func outputShape(inputs: [[Int]], layer: String) throws -> [Int]
}

extension Operator {
    public var inputCount: ClosedRange<Int> { 1...1 }
    public var typeName: String { Self.typeName }

    /// The first input as (n, c, h, w), after checking that every input is 4-D.
    func nchw(_ inputs: [[Int]], layer: String) throws -> (n: Int, c: Int, h: Int, w: Int) {
        guard let first = inputs.first, inputs.allSatisfy({ $0.count == 4 }) else {
            throw NeuralError.shapeMismatch("layer '\(layer)' expects 4-D NCHW inputs, got \(inputs)")
        }
        guard inputCount.contains(inputs.count) else {
            throw NeuralError.shapeMismatch("layer '\(layer)' (\(typeName)) takes \(inputCount) inputs, got \(inputs.count)")
        }
        return (first[0], first[1], first[2], first[3])
    }
}

/// What the runtime knows about one operator: which ncnn layer types produce it, how to read them,
/// and how the CPU planner compiles a node of it.
struct OperatorRegistration: Sendable {
    typealias NcnnReader = @Sendable (NcnnLayer, inout NcnnWeightReader) throws -> any Operator
    typealias Planner = @Sendable (any Operator, Node, [Int], inout PlanBuilder) throws -> Void

    let typeName: String
    let ncnnTypes: [String]
    let readNcnn: NcnnReader?
    let plan: Planner

    init<Op: Operator>(_ type: Op.Type, ncnn ncnnTypes: [String] = [], read: NcnnReader? = nil,
                       plan: @escaping @Sendable (Op, Node, [Int], inout PlanBuilder) throws -> Void) {
        typeName = Op.typeName
        self.ncnnTypes = ncnnTypes
        readNcnn = read
        // The registry is keyed by `typeName`, so the operator handed in is always an `Op`.
        self.plan = { op, node, outShape, builder in try plan(op as! Op, node, outShape, &builder) }
    }
}
