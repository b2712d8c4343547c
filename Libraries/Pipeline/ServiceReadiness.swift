import Foundation
import Messaging
import Store

/// Whether a service can do its work now (`/readyz`): its broker connections are up and the store
/// answers within `timeout`. One read of the cluster's in-flight bytes is the store's answer, and
/// it feeds `reframe_inflight_bytes` too.
public struct ServiceReadiness: Sendable {
    public let context: StageContext
    public let timeout: Double

    public init(context: StageContext, timeout: Double = 2) {
        self.context = context
        self.timeout = timeout
    }

    public enum Verdict: Sendable, Equatable {
        case ready
        case notReady(String)
    }

    public func check() async -> Verdict {
        guard await context.bus.isConnected() else { return .notReady("broker connection down") }
        switch await storeInFlightBytes() {
        case .success(let bytes):
            ServiceMetrics.inFlightBytes.record(bytes)
            return .ready
        case .failure(let error):
            return .notReady("store not answering: \(error)")
        }
    }

    /// The store's in-flight byte count, or why it did not come within `timeout`. A stopped or
    /// frozen Redis can hold a client call for seconds and that call cannot be cancelled, so the
    /// answer is whichever comes first and the call finishes on its own.
    public func storeInFlightBytes() async -> Result<Int64, any Error> {
        let jobs = context.jobs, timeout = timeout
        return await withCheckedContinuation { continuation in
            let first = FirstAnswer(continuation)
            Task {
                do { first.give(.success(try await jobs.inFlightBytes(jobId: nil))) } catch { first.give(.failure(error)) }
            }
            Task {
                try? await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
                first.give(.failure(ReadinessTimeout(seconds: timeout)))
            }
        }
    }
}

/// Resumes a continuation with the first answer given; later ones are dropped.
private final class FirstAnswer<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Never>?

    init(_ continuation: CheckedContinuation<T, Never>) { self.continuation = continuation }

    func give(_ value: T) {
        let c = lock.withLock { () -> CheckedContinuation<T, Never>? in
            defer { continuation = nil }
            return continuation
        }
        c?.resume(returning: value)
    }
}

struct ReadinessTimeout: Error, CustomStringConvertible {
    let seconds: Double
    var description: String { "no answer in \(seconds) s" }
}
