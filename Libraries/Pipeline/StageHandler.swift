import Core
import Messaging

/// What a handler decided about one message: what to publish next (step 4 of the exactly-once
/// protocol), what to delete once the input is acked (step 6), and the work this delivery did,
/// which the worker counts for every stage in one place.
public struct StageOutcome: Sendable {
    public var next: [StageMessage]
    public var cleanup: (@Sendable () async throws -> Void)?
    public var work: StageWork

    public init(next: [StageMessage] = [], cleanup: (@Sendable () async throws -> Void)? = nil, work: StageWork = StageWork()) {
        self.next = next
        self.cleanup = cleanup
        self.work = work
    }
}

/// Frames a delivery produced and the bytes it wrote (stored frames, an encoded segment, the output
/// file). Zero when the work was already recorded (a redelivery skipping to step 4), so the metrics
/// count each chunk's work once when nothing fails.
public struct StageWork: Sendable, Equatable {
    public var frames: Int
    public var bytes: Int64

    public init(frames: Int = 0, bytes: Int64 = 0) {
        self.frames = frames
        self.bytes = bytes
    }

    public static func + (a: StageWork, b: StageWork) -> StageWork { StageWork(frames: a.frames + b.frames, bytes: a.bytes + b.bytes) }
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
