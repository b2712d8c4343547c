import Core
import Foundation
import Logging
import Messaging
import Pipeline
import Store

/// Publishes every case of the bad-input corpus at once to a running cluster (as users would: one
/// bad job must not hold up another) and collects how each ended: a job's error or "done", a broken
/// message's dead-letter reason. Shared by BadInputCorpusTests and `reframe bench media`.
public struct BadInputCorpusRun: Sendable {
    public struct Outcome: Sendable {
        public var name: String
        public var expected: String
        public var got: String
        /// Ingest jobs only: the job id, to audit what the job left in the store.
        public var jobId: String?
        public var matches: Bool { got == expected }
    }

    public let amqpURL: String
    public let redisURL: String
    public let names: QueueNames
    /// How long jobs may take to end before they count as not finished.
    public var deadline: Double = 180

    public init(amqpURL: String, redisURL: String, names: QueueNames) {
        (self.amqpURL, self.redisURL, self.names) = (amqpURL, redisURL, names)
    }

    public func run() async throws -> [Outcome] {
        var logger = Logger(label: "corpus")
        logger.logLevel = .error
        let bus = try RabbitBus(url: amqpURL, names: names, logger: logger)
        let jobs = JobStore(kv: try RedisStore(url: redisURL, connections: 1))
        var ids: [String] = []
        for c in BadInputCorpus.cases {
            let id = UUID().uuidString.lowercased()
            ids.append(id)
            try await bus.publish(c.body, to: bus.names.queue(c.queue.rawValue), headers: c.queue == .ingest ? [IngestHandler.jobIdHeader: id] : [:])
        }
        let jobIds = zip(BadInputCorpus.cases, ids).filter { $0.0.queue == .ingest }.map(\.1)
        let ends = try await finalStates(jobIds, jobs: jobs)
        let letters = try await bus.drainDeadLetters(limit: 1000)
        await bus.close()
        return zip(BadInputCorpus.cases, ids).map { c, id in
            if c.queue == .ingest { return Outcome(name: c.name, expected: c.expected, got: ends[id] ?? "(not finished)", jobId: id) }
            let reason = letters.first { $0.body == c.body && $0.sourceQueue == names.queue(c.queue.rawValue) }?.reason
            return Outcome(name: c.name, expected: c.expected, got: reason ?? "(no dead letter)")
        }
    }

    /// Each job's end, by id: its error when it failed, "done" when it finished.
    func finalStates(_ ids: [String], jobs: JobStore) async throws -> [String: String] {
        var ends: [String: String] = [:]
        let until = Date().addingTimeInterval(deadline)
        while Date() < until, ends.count < ids.count {
            for id in ids where ends[id] == nil {
                if let job = try await jobs.job(id), job.state.isFinal { ends[id] = job.state == .done ? "done" : (job.error ?? "(failed without an error)") }
            }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        return ends
    }
}
