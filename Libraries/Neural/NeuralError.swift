/// Errors from importing or running a model. Messages name the file, layer and value involved.
public enum NeuralError: Error, CustomStringConvertible, Sendable, Equatable {
    case malformedModel(String)
    case unsupportedLayer(name: String, type: String)
    case unsupportedParameter(layer: String, String)
    case shapeMismatch(String)
    case missingFile(String)
    /// A checkpoint asked for something a data file must never do (a global outside the allow-list).
    case unsafeCheckpoint(String)

    public var description: String {
        switch self {
        case .malformedModel(let m): return "malformed model: \(m)"
        case .unsupportedLayer(let name, let type): return "unsupported layer '\(name)' of type '\(type)'"
        case .unsupportedParameter(let layer, let m): return "layer '\(layer)': unsupported parameter: \(m)"
        case .shapeMismatch(let m): return "shape mismatch: \(m)"
        case .missingFile(let m): return "missing model file: \(m)"
        case .unsafeCheckpoint(let m): return "refused checkpoint: \(m)"
        }
    }
}
