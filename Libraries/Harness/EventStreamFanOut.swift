import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// `watchers` clients of one job's server-sent event stream (`GET /v1/jobs/{id}/events`) at once:
/// how long they take to connect, and how long after the job ends each one sees its `end` event
/// and the stream close.
public struct EventStreamFanOut: Sendable {
    public struct Result: Sendable {
        public var watchers: Int
        /// Seconds from the start until every watcher had its first event.
        public var allConnectedSeconds: Double
        /// Seconds from `end()` until each watcher's stream closed after its `end` event, sorted.
        public var closeSeconds: [Double]
        /// Watchers whose stream did not end with exactly one `end` event, or failed.
        public var failures: [String]
        public var eventsPerWatcher: Double

        public func percentile(_ p: Double) -> Double {
            guard !closeSeconds.isEmpty else { return .nan }
            return closeSeconds[min(closeSeconds.count - 1, Int((p / 100 * Double(closeSeconds.count)).rounded(.up)) - 1)]
        }
    }

    public let url: String
    public let token: String
    public let watchers: Int

    public init(url: String, token: String, watchers: Int) {
        self.url = url
        self.token = token
        self.watchers = watchers
    }

    /// Opens the streams, calls `end` once all have seen an event (it should end the job), and
    /// waits for every stream to close.
    public func run(end: @escaping @Sendable () async throws -> Void) async throws -> Result {
        var configuration = HTTPClient.Configuration()
        // One connection per watcher: the default pool would queue all but eight of them.
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: watchers)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let result = try await watch(client, end: end)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func watch(_ client: HTTPClient, end: @escaping @Sendable () async throws -> Void) async throws -> Result {
        let started = ContinuousClock.now
        let connected = Countdown(watchers)
        let endedAt = EndMark()
        return try await withThrowingTaskGroup(of: (Double?, Int, String?).self) { group in
            for _ in 0..<watchers {
                group.addTask {
                    do {
                        var request = HTTPClientRequest(url: url)
                        request.headers.add(name: "Authorization", value: "Bearer \(token)")
                        request.headers.add(name: "Accept", value: "text/event-stream")
                        let response = try await client.execute(request, timeout: .seconds(600))
                        guard response.status == .ok else { await connected.arrive(); return (nil, 0, "status \(response.status.code)") }
                        var text = "", counted = false
                        for try await buffer in response.body {
                            text += String(buffer: buffer)
                            if !counted, text.contains("\n\n") { counted = true; await connected.arrive() }
                        }
                        let closed = ContinuousClock.now
                        if !counted { await connected.arrive() }
                        let events = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
                        let ends = events.filter { $0.hasPrefix("event: end") || $0.contains("\nevent: end") }.count
                        guard ends == 1, events.last.map({ $0.contains("event: end") }) == true else {
                            return (nil, events.count, "\(ends) end events in \(events.count)")
                        }
                        let since = await endedAt.since(closed)
                        return (since, events.count, nil)
                    } catch {
                        await connected.arrive()
                        return (nil, 0, "\(error)")
                    }
                }
            }
            await connected.wait()
            let allConnected = (ContinuousClock.now - started).seconds
            await endedAt.mark()
            try await end()
            var result = Result(watchers: watchers, allConnectedSeconds: allConnected, closeSeconds: [], failures: [], eventsPerWatcher: 0)
            var events = 0
            for try await (seconds, count, failure) in group {
                events += count
                if let seconds { result.closeSeconds.append(seconds) }
                if let failure { result.failures.append(failure) }
            }
            result.closeSeconds.sort()
            result.eventsPerWatcher = Double(events) / Double(watchers)
            return result
        }
    }
}

/// Waits until `count` arrivals.
private actor Countdown {
    private var remaining: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []
    init(_ count: Int) { remaining = count }
    func arrive() {
        remaining -= 1
        if remaining == 0 { waiters.forEach { $0.resume() }; waiters = [] }
    }
    func wait() async {
        if remaining <= 0 { return }
        await withCheckedContinuation { waiters.append($0) }
    }
}

/// When the job was ended, for the watchers' close times.
private actor EndMark {
    private var at: ContinuousClock.Instant?
    func mark() { at = .now }
    func since(_ t: ContinuousClock.Instant) -> Double { at.map { (t - $0).seconds } ?? .nan }
}

private extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
