import Foundation

/// Minutes of inference, encoding and decoding run on threads of their own, not on Swift's
/// cooperative pool: that pool has one thread per core, and two workers busy inside it on two
/// cores would stall everything else in the process — heartbeats, message forwarding, shutdown.
///
/// One thread per call: the calls are long (a chunk's inference or encode) and few (one per stage
/// worker), so a thread costs nothing next to the work. A concurrent dispatch queue would not do:
/// on Linux its threads come from the same width-limited pool as the cooperative executor's
/// (measured: six blocked jobs on two cores delayed an async hop by 0.5 s).
public enum BlockingWork {
    /// Runs `body` on a new thread and resumes the caller with its result.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
            thread.name = "reframe.blocking-work"
            thread.start()
        }
    }
}

/// Hands a value that is not Sendable (a muxer, a decoder) across one `BlockingWork.run` boundary,
/// for objects used by one call at a time.
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
