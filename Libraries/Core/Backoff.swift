/// Capped exponential back-off: `initial`, doubling, never above `maximum`, with up to ±`jitter`
/// of each delay so workers that failed together do not retry together.
public struct Backoff: Sendable, Equatable {
    public var initial: Double
    public var maximum: Double
    public var jitter: Double

    public init(initial: Double = 0.1, maximum: Double = 5, jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
    }

    /// Seconds to wait before retry number `attempt` (0 for the first retry).
    public func delay(attempt: Int) -> Double {
        let base = min(maximum, initial * Double(1 << min(max(attempt, 0), 30)))
        guard jitter > 0 else { return base }
        return min(maximum, base * Double.random(in: (1 - jitter)...(1 + jitter)))
    }

    /// Nanoseconds for `Task.sleep`.
    public func nanoseconds(attempt: Int) -> UInt64 { UInt64(delay(attempt: attempt) * 1e9) }
}
