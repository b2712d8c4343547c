import Foundation

/// Builds the graph IR from an ncnn `.param` + `.bin` pair. Split layers become aliases (no copy);
/// every other layer maps to one IR node. Unknown layers are refused with their name and type.
public enum NcnnImporter {
    public static func load(param: URL, weights: URL) throws -> Graph {
        guard FileManager.default.fileExists(atPath: param.path) else { throw NeuralError.missingFile(param.path) }
        guard FileManager.default.fileExists(atPath: weights.path) else { throw NeuralError.missingFile(weights.path) }
        let text = try String(contentsOf: param, encoding: .utf8)
        let data = try Data(contentsOf: weights, options: .mappedIfSafe)
        return try build(layers: NcnnParamFile.parse(text), weights: data, name: param.deletingPathExtension().lastPathComponent)
    }

    public static func build(layers: [NcnnLayer], weights: Data, name: String) throws -> Graph {
        var reader = NcnnWeightReader(data: weights)
        var valueNames: [String] = []
        var valueOf: [String: Int] = [:]
        var inputs: [Int] = []
        var nodes: [Node] = []
        var consumed = Set<Int>()

        func define(_ blob: String, layer: String) throws -> Int {
            guard valueOf[blob] == nil else { throw NeuralError.malformedModel("layer '\(layer)' redefines blob '\(blob)'") }
            valueNames.append(blob)
            valueOf[blob] = valueNames.count - 1
            return valueNames.count - 1
        }
        func use(_ blob: String, layer: String) throws -> Int {
            guard let v = valueOf[blob] else { throw NeuralError.malformedModel("layer '\(layer)' reads blob '\(blob)' before any layer produces it") }
            consumed.insert(v)
            return v
        }

        for layer in layers {
            func expectCounts(_ bottoms: ClosedRange<Int>, _ tops: Int) throws {
                guard bottoms.contains(layer.bottoms.count), layer.tops.count == tops else {
                    throw NeuralError.malformedModel("layer '\(layer.name)' (\(layer.type)) has \(layer.bottoms.count) inputs and \(layer.tops.count) outputs")
                }
            }
            switch layer.type {
            case "Input":
                try expectCounts(0...0, 1)
                inputs.append(try define(layer.tops[0], layer: layer.name))
                continue
            case "Split":
                // Aliases: every top names the bottom's value.
                try expectCounts(1...1, layer.tops.count)
                let v = try use(layer.bottoms[0], layer: layer.name)
                for top in layer.tops {
                    guard valueOf[top] == nil else { throw NeuralError.malformedModel("layer '\(layer.name)' redefines blob '\(top)'") }
                    valueOf[top] = v
                }
                continue
            default:
                break
            }
            let operation = try self.operation(for: layer, reader: &reader)
            let ins = try layer.bottoms.map { try use($0, layer: layer.name) }
            let outs = try layer.tops.map { try define($0, layer: layer.name) }
            guard outs.count == 1 else {
                throw NeuralError.malformedModel("layer '\(layer.name)' (\(layer.type)) must have one output, has \(outs.count)")
            }
            try expectCounts(operation.inputCount, 1)
            nodes.append(Node(name: layer.name, operation: operation, inputs: ins, outputs: outs))
        }
        guard reader.isAtEnd else {
            throw NeuralError.malformedModel("weight file has \(reader.remaining) bytes left over: it does not belong to this param file")
        }
        guard !inputs.isEmpty else { throw NeuralError.malformedModel("no Input layer") }
        // Outputs: values produced but never read (ncnn names them only at extract time).
        let produced = nodes.flatMap(\.outputs)
        let outputs = produced.filter { !consumed.contains($0) }
        guard !outputs.isEmpty else { throw NeuralError.malformedModel("graph has no output") }
        return Graph(name: name, valueNames: valueNames, inputs: inputs, outputs: outputs, nodes: nodes)
    }

    /// The operator an ncnn layer type maps to, read by that operator's registration.
    static func operation(for layer: NcnnLayer, reader: inout NcnnWeightReader) throws -> any Operator {
        guard let registration = OperatorRegistry.byNcnnType[layer.type], let read = registration.readNcnn else {
            throw NeuralError.unsupportedLayer(name: layer.name, type: layer.type)
        }
        return try read(layer, &reader)
    }
}
