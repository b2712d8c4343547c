import ArgumentParser
import Core
import Foundation
import Pipeline
import Store

/// `reframe status ID`: the job's state and per-stage progress from Redis.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a job's state and per-stage progress.")
    @Argument(help: "Job id.") var id: String
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        guard let p = try await JobProgress.load(jobId: id.lowercased(), jobs: try cluster.jobs()) else {
            throw ValidationError("no job \(id) (unknown, not yet ingested, or expired)")
        }
        print(StatusView.render(id: id, p, retry: StatusView.retryCommand(id: id, cluster: cluster)))
        if p.state == .failed { throw ExitCode(1) }
    }
}

/// `reframe watch ID`: follows the job until it ends; exits 1 if it failed or was cancelled.
struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow a job's progress until it ends.",
        discussion: "Exits 0 when the job is done, 1 when it failed (listing the failed chunks and the retry command) or was cancelled.")
    @Argument(help: "Job id.") var id: String
    @OptionGroup var follow: FollowOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws { try await JobFollower.follow(id: id, options: follow, cluster: cluster) }
}

enum StatusView {
    /// `retry`: the command that retries the job's failed chunks, shown when some failed.
    static func render(id: String, _ p: JobProgress, retry: String) -> String {
        var lines = ["job \(id): \(p.state.rawValue) (\(String(format: "%.0f", p.fraction * 100))%)"]
        if let e = p.error, !e.isEmpty { lines.append("  error: \(e)") }
        if p.segmentsTotal > 0 { lines.append("  segments extracted: \(p.segmentsDone)/\(p.segmentsTotal), chunks: \(p.chunksTotal)") }
        for s in p.stages {
            lines.append("  \(s.stage.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(s.chunksDone) chunks, \(s.framesDone)/\(p.expectedFrames(s.stage)) frames")
        }
        for f in p.failedChunks { lines.append("  failed " + failure(field: f.field, error: f.error)) }
        if p.state == .failed && !p.failedChunks.isEmpty { lines.append("  retry the failed chunks with: \(retry)") }
        lines += p.notes.map { "  " + note($0) }
        return lines.joined(separator: "\n")
    }

    /// A failed chunk (or segment) as its stage, id and error.
    static func failure(field: String, error: String) -> String {
        switch ChunkFieldName(field) {
        case .segment(let n)?: return "extract segment \(n): \(error)"
        case .chunk(let n, let stage)?: return "\(stage.rawValue) chunk \(n): \(error)"
        case nil: return "\(field): \(error)"
        }
    }

    /// `reframe retry ID` (RetryCommand), with the cluster options given on this command line so
    /// the command reaches the same broker and store when pasted.
    static func retryCommand(id: String, cluster: ClusterOptions) -> String {
        var words = ["reframe", "retry", id.lowercased()]
        if let url = cluster.amqpURL { words += ["--amqp-url", url] }
        if let url = cluster.redisURL { words += ["--redis-url", url] }
        if let prefix = cluster.queuePrefix { words += ["--queue-prefix", prefix] }
        return words.joined(separator: " ")
    }

    /// One output note as `status`, `watch` and `process` print it.
    static func note(_ text: String) -> String { "note: \(text)" }
}
