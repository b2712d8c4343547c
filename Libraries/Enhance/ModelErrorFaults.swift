import Core
import Neural
import OneDNN

// Whether a retry can help (Core's FaultClassifying). Neural and OneDNN stay free of Core — they are a
// runtime of their own — and Enhance is their only caller in the pipeline, so their errors are
// classified here, beside Enhance's own.

extension EnhanceError: FaultClassifying {
    /// An unknown model, unusable input or missing model files stay so on every try.
    public var isTransient: Bool { false }
}

extension NeuralError: FaultClassifying {
    /// A model that does not import, does not fit the runtime or is missing fails the same way each time.
    public var isTransient: Bool { false }
}

extension OneDNNError: FaultClassifying {
    /// Running out of memory may pass (another worker, a smaller tile budget elsewhere); anything else
    /// is a configuration oneDNN cannot run.
    public var isTransient: Bool {
        if case .call(_, let status) = self { return status == "out of memory" }
        return false
    }
}
