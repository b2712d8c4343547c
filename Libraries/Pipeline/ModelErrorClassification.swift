import Core
import Enhance

// Errors of libraries that do not depend on Core are classified here, next to their only caller.
// TODO: move into Libraries/Enhance beside EnhanceError (left out while that module was being reworked).

extension EnhanceError: FaultClassifying {
    /// An unknown model, unusable input or missing model files stay so on every try.
    public var isTransient: Bool { false }
}
