/// One layer line of an ncnn `.param` file.
public struct NcnnLayer: Sendable {
    public var type: String
    public var name: String
    public var bottoms: [String]
    public var tops: [String]
    public var parameters: NcnnParameters
}

/// A layer's `k=v` and `-233xx=n,a,b,…` parameters. Values keep their text so each key is read
/// as the type its layer expects (ncnn writes ints and floats the same way).
public struct NcnnParameters: Sendable {
    var scalars: [Int: String] = [:]
    var arrays: [Int: [String]] = [:]

    public func int(_ id: Int, default value: Int) throws -> Int {
        guard let text = scalars[id] else { return value }
        if let v = Int(text) { return v }
        if let f = Float(text), f == f.rounded() { return Int(f) }
        throw NeuralError.malformedModel("parameter \(id)=\(text) is not an integer")
    }

    public func float(_ id: Int, default value: Float) throws -> Float {
        guard let text = scalars[id] else { return value }
        guard let v = Float(text) else { throw NeuralError.malformedModel("parameter \(id)=\(text) is not a number") }
        return v
    }

    public func floats(_ id: Int) throws -> [Float] {
        try (arrays[id] ?? []).map {
            guard let v = Float($0) else { throw NeuralError.malformedModel("array parameter \(id) holds '\($0)', not a number") }
            return v
        }
    }

    public func ints(_ id: Int) throws -> [Int] {
        try floats(id).map { Int($0) }
    }

    public func has(_ id: Int) -> Bool { scalars[id] != nil || arrays[id] != nil }
    public var keys: Set<Int> { Set(scalars.keys).union(arrays.keys) }
}

/// Parses the text `.param` format: magic 7767517, "layers blobs", then one layer per line.
public enum NcnnParamFile {
    public static let magic = 7767517

    public static func parse(_ text: String) throws -> [NcnnLayer] {
        var lines = text.split(whereSeparator: \.isNewline).map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }) }
            .filter { !$0.isEmpty }
        guard lines.count >= 2, lines[0].count == 1, Int(lines[0][0]) == magic else {
            throw NeuralError.malformedModel("not an ncnn param file (first line must be \(magic))")
        }
        guard lines[1].count == 2, let layerCount = Int(lines[1][0]), Int(lines[1][1]) != nil else {
            throw NeuralError.malformedModel("second line must be 'layer_count blob_count'")
        }
        lines.removeFirst(2)
        guard lines.count == layerCount else {
            throw NeuralError.malformedModel("header declares \(layerCount) layers, file has \(lines.count)")
        }
        return try lines.enumerated().map { try parseLayer($0.element.map(String.init), line: $0.offset + 3) }
    }

    static func parseLayer(_ f: [String], line: Int) throws -> NcnnLayer {
        guard f.count >= 4, let nb = Int(f[2]), let nt = Int(f[3]), nb >= 0, nt >= 0, f.count >= 4 + nb + nt else {
            throw NeuralError.malformedModel("line \(line): expected 'type name bottoms tops …'")
        }
        var parameters = NcnnParameters()
        for token in f[(4 + nb + nt)...] {
            let kv = token.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, let key = Int(kv[0]) else {
                throw NeuralError.malformedModel("line \(line) (\(f[1])): bad parameter '\(token)'")
            }
            if key <= -23300 {
                // Array parameter: id = −(key + 23300), value "count,v1,v2,…".
                let parts = kv[1].split(separator: ",").map(String.init)
                guard let count = parts.first.flatMap({ Int($0) }), count == parts.count - 1 else {
                    throw NeuralError.malformedModel("line \(line) (\(f[1])): array parameter '\(token)' count does not match its values")
                }
                parameters.arrays[-(key + 23300)] = Array(parts.dropFirst())
            } else {
                guard key >= 0 else { throw NeuralError.malformedModel("line \(line) (\(f[1])): bad parameter id \(key)") }
                parameters.scalars[key] = kv[1]
            }
        }
        return NcnnLayer(type: f[0], name: f[1], bottoms: Array(f[4..<(4 + nb)]), tops: Array(f[(4 + nb)..<(4 + nb + nt)]),
                         parameters: parameters)
    }
}
