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
        print(StatusView.render(id: id, p))
        if p.state == .failed { throw ExitCode(1) }
    }
}

/// `reframe watch ID`: refreshes the status until the job ends; rides out a store that restarts.
struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Follow a job's progress until it ends.")
    @Argument(help: "Job id.") var id: String
    @Option(help: "Seconds between refreshes.") var interval = 1.0
    @Option(help: "Give up after this many seconds.") var timeout = 86_400.0
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let jobs = try cluster.jobs()
        let deadline = Date().addingTimeInterval(timeout)
        let bar = ProgressBar(enabled: true)
        while Date() < deadline {
            let progress: JobProgress?
            do { progress = try await JobProgress.load(jobId: id.lowercased(), jobs: jobs) } catch where Fault.isTransient(error) {
                FileHandle.standardError.write(Data("reframe watch: \(error); retrying\n".utf8))
                try await Task.sleep(nanoseconds: UInt64(max(interval, 1) * 1e9))
                continue
            }
            if let p = progress {
                bar.update(p)
                if p.state.isFinal {
                    bar.finish()
                    print(StatusView.render(id: id, p))
                    if p.state != .done { throw ExitCode(1) }
                    return
                }
            }
            try await Task.sleep(nanoseconds: UInt64(interval * 1e9))
        }
        throw ValidationError("job \(id) did not finish within \(Int(timeout)) s")
    }
}

enum StatusView {
    static func render(id: String, _ p: JobProgress) -> String {
        var lines = ["job \(id): \(p.state.rawValue) (\(String(format: "%.0f", p.fraction * 100))%)"]
        if let e = p.error, !e.isEmpty { lines.append("  error: \(e)") }
        if p.segmentsTotal > 0 { lines.append("  segments extracted: \(p.segmentsDone)/\(p.segmentsTotal), chunks: \(p.chunksTotal)") }
        for s in p.stages {
            lines.append("  \(s.stage.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(s.chunksDone) chunks, \(s.framesDone)/\(p.expectedFrames(s.stage)) frames")
        }
        for f in p.failedChunks { lines.append("  failed \(f.field): \(f.error)") }
        lines += p.notes.map { "  " + note($0) }
        return lines.joined(separator: "\n")
    }

    /// One output note as `status`, `watch` and `process` print it.
    static func note(_ text: String) -> String { "note: \(text)" }
}
