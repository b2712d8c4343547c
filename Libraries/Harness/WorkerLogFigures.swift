import Core

/// How often one job's work came back, counted from the lines the stage workers log
/// (`WorkerLogEvents`): measured, not inferred from the faults injected.
public struct WorkerLogFigures: Sendable, Equatable {
    /// Messages the broker delivered again (their worker died, lost its link or gave them back).
    public var redeliveries = 0
    /// Transient failures a worker retried without giving the message back.
    public var inPlaceRetries = 0
    /// Distinct pieces of work (a chunk or segment at one stage, or the job's own ingest or finalize)
    /// that were redelivered or retried at least once.
    public var chunksRetried = 0

    public init() {}

    /// The figures of job `jobId` in the given service logs.
    public init(logs: [String], jobId: String) {
        var retried = Set<String>()
        for log in logs {
            for line in log.split(separator: "\n") where line.contains("job=\(jobId)") {
                if line.hasSuffix(WorkerLogEvents.redelivered) {
                    redeliveries += 1
                } else if line.contains(WorkerLogEvents.retryingInPlace) {
                    inPlaceRetries += 1
                } else {
                    continue
                }
                let stage = Self.value(WorkerLogEvents.stage, in: line) ?? "?"
                let piece = Self.value("chunk", in: line).map { "chunk \($0)" } ?? Self.value("segment", in: line).map { "segment \($0)" } ?? "job"
                retried.insert("\(stage) \(piece)")
            }
        }
        chunksRetried = retried.count
    }

    /// The value of metadata `key` on a swift-log line (`… key=value …`).
    static func value(_ key: String, in line: Substring) -> String? {
        guard let r = line.range(of: " \(key)=") else { return nil }
        let value = line[r.upperBound...].prefix { !$0.isWhitespace }
        return value.isEmpty ? nil : String(value)
    }
}
