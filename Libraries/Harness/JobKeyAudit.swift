import Core
import Foundation
import Redis

/// What a finished job left in Redis besides its record: every key whose name holds the job id
/// (SCAN `*<id>*`, so keys of any layout count), and the cluster's in-flight byte counter against
/// its value before the job.
public struct JobKeyAudit: Sendable {
    let connection: RedisConnection

    public init(redisURL: String) throws {
        connection = try RedisConnection(url: redisURL)
    }

    /// The job's record, chunk states and counters stay (for `reframe status`, with a TTL); any other
    /// key of a done job is a leak: frames, encoded segments, its in-flight counter, locks.
    public static func isRecord(_ key: String, jobId: String) -> Bool {
        [Keys.job(jobId), Keys.chunks(jobId), Keys.countedFields(jobId)].contains(key)
    }

    /// Keys holding the job id that are not its record, sorted.
    public func leakedKeys(jobId: String) async throws -> [String] {
        let connection = self.connection
        return try await BlockingWork.run {
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
        let connection = self.connection
        return try await BlockingWork.run { try connection.command("GET", Keys.clusterInFlight).string.flatMap { Int64($0) } ?? 0 }
    }
}
