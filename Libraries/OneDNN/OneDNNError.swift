import CDNNL

/// A failed oneDNN call, with the call's name and the library's status name.
public enum OneDNNError: Error, CustomStringConvertible, Sendable {
    case call(String, status: String)
    /// No optimised implementation exists for this configuration (only the slow reference one, or none).
    case unimplemented(String)

    public var description: String {
        switch self {
        case .call(let what, let status): return "oneDNN \(what) failed: \(status)"
        case .unimplemented(let what): return "oneDNN has no fast implementation for \(what)"
        }
    }
}

func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) throws {
    guard status != dnnl_success else { return }
    throw OneDNNError.call(what(), status: statusName(status))
}

func statusName(_ status: dnnl_status_t) -> String {
    switch status {
    case dnnl_out_of_memory: return "out of memory"
    case dnnl_invalid_arguments: return "invalid arguments"
    case dnnl_unimplemented: return "unimplemented"
    case dnnl_iterator_ends: return "iterator ends"
    case dnnl_runtime_error: return "runtime error"
    case dnnl_not_required: return "not required"
    default: return "status \(status.rawValue)"
    }
}
