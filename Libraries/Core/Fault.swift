/// Whether an error may go away if the same work is tried again (DESIGN.md §6: every step is
/// idempotent, so a retry is always safe; the question is only whether it can help).
///
/// Adopt it where an error type is defined, so errors from new stages and libraries are classified
/// once, beside their cases, instead of in a list kept by the worker loop.
public protocol FaultClassifying: Error {
    /// True for trouble outside the message (a store or broker that went away, a full store, a lock
    /// held elsewhere): retry, with back-off. False when every retry would fail the same way (a bad
    /// message, spec or input): dead-letter the message at once and fail the job visibly.
    var isTransient: Bool { get }
    /// False for a transient error that says the cluster is busy (a full store, a finalize running
    /// elsewhere), not that this attempt at the message failed: waiting for room must not use up the
    /// message's deliveries, or a long wait would fail a chunk that did nothing wrong.
    var countsAsAttempt: Bool { get }
}

extension FaultClassifying {
    public var countsAsAttempt: Bool { true }
}

public enum Fault {
    /// Classifies any error. An error that does not adopt `FaultClassifying` counts as transient:
    /// a retry is safe (steps are idempotent) and bounded by the queue's delivery limit, after which
    /// the chunk fails visibly anyway, whereas calling an unknown hiccup permanent would fail a job
    /// that one more try would have finished. `isClassified` lets callers log such errors so they
    /// get classified where they are defined.
    public static func isTransient(_ error: any Error) -> Bool {
        (error as? any FaultClassifying)?.isTransient ?? true
    }

    public static func isClassified(_ error: any Error) -> Bool { error is any FaultClassifying }

    /// Whether a failure uses up one of the message's deliveries (see `FaultClassifying.countsAsAttempt`).
    public static func countsAsAttempt(_ error: any Error) -> Bool {
        (error as? any FaultClassifying)?.countsAsAttempt ?? true
    }
}

// Standard library errors the pipeline meets.

extension DecodingError: FaultClassifying {
    /// Stored or sent JSON that does not decode will not decode next time either.
    public var isTransient: Bool { false }
}

extension EncodingError: FaultClassifying {
    public var isTransient: Bool { false }
}

extension CancellationError: FaultClassifying {
    /// Work cut short by shutdown: another worker picks the message up.
    public var isTransient: Bool { true }
}
