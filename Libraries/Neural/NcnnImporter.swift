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
            if case .concat = operation {} else if case .eltwise = operation {} else if case .binary(_, let scalar) = operation, scalar == nil {
                try expectCounts(2...2, 1)
            } else {
                try expectCounts(1...1, 1)
            }
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

    static func operation(for layer: NcnnLayer, reader: inout NcnnWeightReader) throws -> GraphOperation {
        let p = layer.parameters, name = layer.name
        switch layer.type {
        case "Convolution", "Deconvolution":
            return .convolution(try convolution(layer, transposed: layer.type == "Deconvolution", reader: &reader))
        case "PReLU":
            let count = try p.int(0, default: 0)
            guard count > 0 else { throw NeuralError.unsupportedParameter(layer: name, "PReLU with \(count) slopes") }
            return .prelu(slopes: try reader.readRaw(count, what: "slopes of '\(name)'"))
        case "ReLU":
            return .activation(.relu(slope: try p.float(0, default: 0)))
        case "Sigmoid":
            return .activation(.sigmoid)
        case "Clip":
            return .activation(.clip(min: try p.float(0, default: -.greatestFiniteMagnitude), max: try p.float(1, default: .greatestFiniteMagnitude)))
        case "BinaryOp":
            let kinds: [BinaryOperation?] = [.add, .sub, .mul, .div, .max, .min, nil, .reverseSub, .reverseDiv]
            let type = try p.int(0, default: 0)
            guard type >= 0, type < kinds.count, let kind = kinds[type] else {
                throw NeuralError.unsupportedParameter(layer: name, "BinaryOp op_type \(type)")
            }
            let withScalar = try p.int(1, default: 0) != 0
            return .binary(kind, scalar: withScalar ? try p.float(2, default: 0) : nil)
        case "Eltwise":
            let type = try p.int(0, default: 0)
            let kinds: [EltwiseOperation] = [.product, .sum, .max]
            guard type >= 0, type < 3 else { throw NeuralError.unsupportedParameter(layer: name, "Eltwise op_type \(type)") }
            let coefficients = try p.floats(1)
            if kinds[type] != .sum && !coefficients.isEmpty {
                throw NeuralError.unsupportedParameter(layer: name, "coefficients on a non-sum Eltwise")
            }
            return .eltwise(kinds[type], coefficients: coefficients)
        case "Interp":
            let modes: [Int: InterpolationMode] = [1: .nearest, 2: .bilinear, 3: .bicubic]
            let type = try p.int(0, default: 0)
            guard let mode = modes[type] else { throw NeuralError.unsupportedParameter(layer: name, "Interp resize_type \(type)") }
            guard try p.int(5, default: 0) == 0 else { throw NeuralError.unsupportedParameter(layer: name, "dynamic target size") }
            return .interpolate(Interpolation(
                mode: mode, scale: (try p.float(1, default: 1), try p.float(2, default: 1)),
                outputSize: (try p.int(3, default: 0), try p.int(4, default: 0)), alignCorners: try p.int(6, default: 0) != 0))
        case "PixelShuffle":
            let r = try p.int(0, default: 1)
            guard r >= 1, try p.int(1, default: 0) == 0 else { throw NeuralError.unsupportedParameter(layer: name, "PixelShuffle factor \(r) / mode") }
            return .pixelShuffle(factor: r)
        case "Concat":
            // ncnn counts axes of the C×H×W blob; −1 is the last one.
            var axis = try p.int(0, default: 0)
            if axis < 0 { axis += 3 }
            guard (0...2).contains(axis) else { throw NeuralError.unsupportedParameter(layer: name, "Concat axis \(axis)") }
            return .concat(axis: axis + 1)
        case "Crop":
            return .crop(try crop(layer))
        case "Padding":
            let type = try p.int(4, default: 0)
            let mode: BorderMode
            switch type {
            case 0: mode = .constant(try p.float(5, default: 0))
            case 1: mode = .replicate
            case 2: mode = .reflect
            default: throw NeuralError.unsupportedParameter(layer: name, "Padding type \(type)")
            }
            guard try p.int(6, default: 0) == 0, try p.int(7, default: 0) == 0, try p.int(8, default: 0) == 0 else {
                throw NeuralError.unsupportedParameter(layer: name, "per-channel or channel-axis padding")
            }
            let top = try p.int(0, default: 0), bottom = try p.int(1, default: 0), left = try p.int(2, default: 0), right = try p.int(3, default: 0)
            guard min(top, bottom, left, right) >= 0 else { throw NeuralError.unsupportedParameter(layer: name, "negative padding") }
            return .padding(Padding(top: top, bottom: bottom, left: left, right: right, mode: mode))
        default:
            throw NeuralError.unsupportedLayer(name: name, type: layer.type)
        }
    }

    static func convolution(_ layer: NcnnLayer, transposed: Bool, reader: inout NcnnWeightReader) throws -> Convolution {
        let p = layer.parameters, name = layer.name
        let outChannels = try p.int(0, default: 0)
        let kw = try p.int(1, default: 0), kh = try p.int(11, default: kw)
        let dw = try p.int(2, default: 1), dh = try p.int(12, default: dw)
        let sw = try p.int(3, default: 1), sh = try p.int(13, default: sw)
        let left = try p.int(4, default: 0), top = try p.int(14, default: left)
        let right = try p.int(15, default: left), bottom = try p.int(16, default: top)
        let biasTerm = try p.int(5, default: 0) != 0
        let weightCount = try p.int(6, default: 0)
        guard outChannels > 0, kw > 0, kh > 0, sw > 0, sh > 0, dw > 0, dh > 0, weightCount > 0,
              weightCount % (outChannels * kw * kh) == 0 else {
            throw NeuralError.malformedModel("layer '\(name)': inconsistent convolution sizes (out \(outChannels), kernel \(kw)×\(kh), weights \(weightCount))")
        }
        guard min(left, top, right, bottom) >= 0 else {
            throw NeuralError.unsupportedParameter(layer: name, "automatic (SAME) padding \(left)")
        }
        for (key, what) in [(8, "int8 scale term"), (19, "dynamic weights")] where try p.int(key, default: 0) != 0 {
            throw NeuralError.unsupportedParameter(layer: name, what)
        }
        if !transposed, try p.float(18, default: 0) != 0 { throw NeuralError.unsupportedParameter(layer: name, "non-zero pad value") }
        var outputPadding = (h: 0, w: 0)
        if transposed {
            outputPadding = (try p.int(19, default: 0), try p.int(18, default: 0))
            guard try p.int(20, default: 0) == 0, try p.int(21, default: 0) == 0 else {
                throw NeuralError.unsupportedParameter(layer: name, "fixed deconvolution output size")
            }
        }
        let activation = try activation(type: try p.int(9, default: 0), parameters: try p.floats(10), layer: name)
        let weights = try reader.readTagged(weightCount, what: "weights of '\(name)'")
        let bias = biasTerm ? try reader.readRaw(outChannels, what: "bias of '\(name)'") : nil
        return Convolution(outChannels: outChannels, kernel: (kh, kw), stride: (sh, sw), dilation: (dh, dw),
                           pad: (top, left, bottom, right), transposed: transposed, outputPadding: outputPadding,
                           weights: weights, bias: bias, activation: activation)
    }

    static func activation(type: Int, parameters: [Float], layer: String) throws -> ActivationFunction? {
        switch type {
        case 0: return nil
        case 1: return .relu(slope: 0)
        case 2: return .relu(slope: parameters.first ?? 0)
        case 3:
            guard parameters.count == 2 else { throw NeuralError.unsupportedParameter(layer: layer, "clip activation without bounds") }
            return .clip(min: parameters[0], max: parameters[1])
        case 4: return .sigmoid
        default: throw NeuralError.unsupportedParameter(layer: layer, "activation type \(type)")
        }
    }

    static func crop(_ layer: NcnnLayer) throws -> Crop {
        let p = layer.parameters
        if p.has(9) || p.has(10) {
            // starts/ends/axes form; axes count over C×H×W (0 = channels).
            let starts = try p.ints(9), ends = try p.ints(10)
            var axes = try p.ints(11)
            if axes.isEmpty { axes = Array(0..<starts.count) }
            guard starts.count == ends.count, axes.count == starts.count else {
                throw NeuralError.unsupportedParameter(layer: layer.name, "Crop starts/ends/axes of different lengths")
            }
            var s = [0, 0, 0], e = [Int.max, Int.max, Int.max]
            for (i, rawAxis) in axes.enumerated() {
                let axis = rawAxis < 0 ? rawAxis + 3 : rawAxis
                guard (0...2).contains(axis) else { throw NeuralError.unsupportedParameter(layer: layer.name, "Crop axis \(rawAxis)") }
                s[axis] = starts[i]
                e[axis] = ends[i] >= Int(Int32.max) - 1 ? Int.max : ends[i]
            }
            return Crop(start: (s[0], s[1], s[2]), end: (e[0], e[1], e[2]))
        }
        let wo = try p.int(0, default: 0), ho = try p.int(1, default: 0), co = try p.int(2, default: 0)
        let ow = try p.int(3, default: 0), oh = try p.int(4, default: 0), oc = try p.int(5, default: 0)
        let wo2 = try p.int(6, default: 0), ho2 = try p.int(7, default: 0), co2 = try p.int(8, default: 0)
        func end(_ offset: Int, _ size: Int, _ trailing: Int) -> Int {
            size > 0 ? offset + size : (trailing > 0 ? -trailing : Int.max)
        }
        return Crop(start: (co, ho, wo), end: (end(co, oc, co2), end(ho, oh, ho2), end(wo, ow, wo2)))
    }
}
