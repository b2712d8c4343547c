import Core
import Foundation
import Logging
import Redis

/// What a finished job left in Redis besides its record: every key whose name holds the job id
/// (SCAN `*<id>*`, so keys of any layout count), and the cluster's in-flight byte counter against
/// its value before the job.
public struct JobKeyAudit: Sendable {
    let connection: RedisConnection

    public init(redisURL: String) throws {
        connection = try RedisConnection(url: redisURL, logger: Self.quietLogger)
    }

    /// The harness's own connections: their reconnections during a store restart are not news.
    static var quietLogger: Logger {
        var logger = Logger(label: "reframe.harness.redis")
        logger.logLevel = .error
        return logger
    }

    /// Runs a read, again while it fails transiently (a connection idle through a Redis restart
    /// fails its first command; reads are safe to repeat).
    private func read<T: Sendable>(_ body: @escaping @Sendable (RedisConnection) throws -> T) async throws -> T {
        let connection = self.connection
        let deadline = Date().addingTimeInterval(30)
        while true {
            do { return try await BlockingWork.run { try body(connection) } } catch where Fault.isTransient(error) && Date() < deadline {
                try await Task.sleep(nanoseconds: 200_000_000)
            }
        }
    }

    /// The job's record, chunk states and counters stay (for `reframe status`, with a TTL); any other
    /// key of a done job is a leak: frames, encoded segments, its in-flight counter, locks.
    public static func isRecord(_ key: String, jobId: String) -> Bool {
        [Keys.job(jobId), Keys.chunks(jobId), Keys.countedFields(jobId)].contains(key)
    }

    /// Keys holding the job id that are not its record, sorted.
    public func leakedKeys(jobId: String) async throws -> [String] {
        try await read { connection in
            var cursor = "0", keys: [String] = []
            repeat {
                let reply = try connection.command("SCAN", cursor, "MATCH", "*\(jobId)*", "COUNT", "1000").array ?? []
                guard reply.count == 2 else { break }
                cursor = reply[0].string ?? "0"
                keys += (reply[1].array ?? []).compactMap(\.string)
            } while cursor != "0"
            return keys.filter { !Self.isRecord($0, jobId: jobId) }.sorted()
        }
    }

    /// Bytes of frames the whole cluster counts as in flight.
    public func clusterInFlightBytes() async throws -> Int64 {
        try await read { try $0.command("GET", Keys.clusterInFlight).string.flatMap { Int64($0) } ?? 0 }
    }
}
