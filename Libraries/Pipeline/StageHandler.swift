import Core
import Messaging

/// What a handler decided about one message: what to publish next (step 4 of the exactly-once
/// protocol) and what to delete once the input is acked (step 6).
public struct StageOutcome: Sendable {
    public var next: [StageMessage]
    public var cleanup: (@Sendable () async throws -> Void)?

    public init(next: [StageMessage] = [], cleanup: (@Sendable () async throws -> Void)? = nil) {
        self.next = next
        self.cleanup = cleanup
    }
}

/// One stage's behaviour: steps 1–3 of DESIGN.md §6 (skip if done; load, process, store; mark done).
/// The worker loop does steps 4–6, retries and dead-lettering, once for every stage.
public protocol StageHandler: Sendable {
    var stage: Stage { get }
    /// Prefetch for this stage's consumer (1–2 for model stages).
    var prefetch: Int { get }
    func process(_ delivery: BusDelivery, context: StageContext) async throws -> StageOutcome
}

extension StageHandler {
    public var prefetch: Int { 1 }
}

/// Errors that will recur on every retry: the message goes to the dead-letter queue and the job fails.
public struct PermanentFailure: FaultClassifying, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var isTransient: Bool { false }
}
