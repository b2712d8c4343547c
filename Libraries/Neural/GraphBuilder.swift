/// Builds a graph by hand, for architectures written in Swift (RIFE) and for tests: every node
/// makes one new value, named after the node.
public struct GraphBuilder {
    public let name: String
    private var valueNames: [String] = []
    private var inputs: [Int] = []
    private var nodes: [Node] = []

    public init(name: String) { self.name = name }

    public mutating func input(_ name: String) -> Int {
        valueNames.append(name)
        inputs.append(valueNames.count - 1)
        return valueNames.count - 1
    }

    @discardableResult
    public mutating func add(_ name: String, _ operation: any Operator, _ inputs: [Int]) -> Int {
        valueNames.append(name)
        nodes.append(Node(name: name, operation: operation, inputs: inputs, outputs: [valueNames.count - 1]))
        return valueNames.count - 1
    }

    public func graph(outputs: [Int]) -> Graph {
        Graph(name: name, valueNames: valueNames, inputs: inputs, outputs: outputs, nodes: nodes)
    }
}
