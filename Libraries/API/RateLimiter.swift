import Foundation

/// A token bucket per API token: `rate` requests per second, bursts of up to twice that (at least one).
actor RateLimiter {
    private var buckets: [String: (tokens: Double, time: Double)] = [:]
    private let now: @Sendable () -> Double

    init(now: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }) { self.now = now }

    /// Takes one request's token; nil when allowed, else the seconds until one is available.
    func take(key: String, rate: Double) -> Double? {
        let capacity = max(1, rate * 2)
        let t = now()
        var bucket = buckets[key] ?? (capacity, t)
        bucket.tokens = min(capacity, bucket.tokens + (t - bucket.time) * rate)
        bucket.time = t
        defer { buckets[key] = bucket }
        guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / rate }
        bucket.tokens -= 1
        return nil
    }
}
