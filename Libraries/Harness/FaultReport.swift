import Foundation

/// The figures of one job run under one fault scenario (issue 10's "bench faults" line).
public struct FaultReport: Codable, Sendable {
    public var scenario: String
    public var jobId: String
    /// The job's final state (`done` unless the faults broke it), or `timeout`.
    public var state: String
    public var chunks: Int
    public var chunksFailed: Int
    /// SIGKILLs sent to service processes.
    public var kills = 0
    /// Restarts: of service processes (by the harness, as a supervisor) and of Redis or RabbitMQ.
    public var restarts = 0
    /// Service processes that ended without being killed (each was restarted too): must be 0.
    public var unexpectedDeaths = 0
    public var redeliveries = 0
    public var inPlaceRetries = 0
    public var chunksRetried = 0
    /// Output frames missing or differing from the fault-free run's; nil when nothing to compare with.
    public var framesLost: Int?
    public var frames = 0
    /// Keys of the job other than its record, left after it finished: must be empty.
    public var keysLeaked: [String] = []
    /// The cluster's in-flight bytes after the job minus before it: must be 0.
    public var inFlightBytesLeft: Int64 = 0
    public var wallSeconds: Double
    public var faultFreeSeconds: Double?
    /// The kill storm's seed, to replay it.
    public var seed: UInt64?

    /// Wall time over the fault-free run's.
    public var extraSeconds: Double?

    /// The job finished with every frame right and nothing left behind.
    public var passed: Bool {
        state == "done" && chunksFailed == 0 && (framesLost ?? 0) == 0 && keysLeaked.isEmpty && inFlightBytesLeft == 0 && unexpectedDeaths == 0
    }

    /// One line for people.
    public var line: String {
        let lost = framesLost.map(String.init) ?? "ref"
        let extra = extraSeconds.map { String(format: "%+.1f s (%+.0f%%)", $0, 100 * $0 / max(faultFreeSeconds ?? 0, 0.001)) } ?? "-"
        let pad = { (s: String, n: Int) in s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        var s = pad(scenario, 16) + " " + pad(state, 5)
        s += String(format: "  kills %3d  restarts %3d  redeliveries %3d  chunks retried %3d", kills, restarts, redeliveries, chunksRetried)
        s += "  frames lost \(lost)/\(frames)  keys leaked \(keysLeaked.count)  in-flight left \(inFlightBytesLeft) B"
        s += String(format: "  wall %6.1f s  extra ", wallSeconds) + extra
        if inPlaceRetries > 0 { s += "  in-place retries \(inPlaceRetries)" }
        if unexpectedDeaths > 0 { s += "  UNEXPECTED DEATHS \(unexpectedDeaths)" }
        if chunksFailed > 0 { s += "  CHUNKS FAILED \(chunksFailed)" }
        return s
    }
}
