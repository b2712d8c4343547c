/// The runtime's graph IR: values are numbered, nodes run in the stored (topological) order.
/// Importers produce it; executors consume it; neither knows about the other.
public struct Graph: Sendable {
    public var name: String
    public var valueNames: [String]
    public var inputs: [Int]
    public var outputs: [Int]
    public var nodes: [Node]

    public init(name: String, valueNames: [String], inputs: [Int], outputs: [Int], nodes: [Node]) {
        self.name = name
        self.valueNames = valueNames
        self.inputs = inputs
        self.outputs = outputs
        self.nodes = nodes
    }

    public func value(named name: String) -> Int? { valueNames.firstIndex(of: name) }

    /// Multiply-accumulates per output pixel of each convolution, for throughput figures.
    public func multiplyAccumulates(inputShape: [Int]) throws -> Double {
        var shapes: [Int: [Int]] = [inputs[0]: inputShape]
        var total = 0.0
        for node in nodes {
            let ins = try node.inputs.map { v -> [Int] in
                guard let s = shapes[v] else { throw NeuralError.malformedModel("value \(valueNames[v]) used before it is produced") }
                return s
            }
            let outShape = try node.operation.outputShape(inputs: ins, layer: node.name)
            if let c = node.operation as? Convolution { total += c.multiplyAccumulates(input: ins[0], output: outShape) }
            for o in node.outputs { shapes[o] = outShape }
        }
        return total
    }
}

public struct Node: Sendable {
    public var name: String
    public var operation: any Operator
    public var inputs: [Int]
    public var outputs: [Int]

    public init(name: String, operation: any Operator, inputs: [Int], outputs: [Int]) {
        self.name = name
        self.operation = operation
        self.inputs = inputs
        self.outputs = outputs
    }
}
