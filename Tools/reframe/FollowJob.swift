import ArgumentParser
import Core
import Foundation
import Pipeline
import Store

/// How `watch` and `submit --watch` follow a job.
struct FollowOptions: ParsableArguments {
    @Option(help: "Seconds between refreshes.") var interval = 1.0
    @Option(help: "Give up after this many seconds.") var timeout = 86_400.0
    @Option(help: "Seconds between progress lines when stderr is not a terminal.") var progressEvery = 5.0
}

/// Follows a job until it ends: live progress on stderr, then its status on stdout. Exits 0 when
/// the job is done and 1 when it failed or was cancelled (the status then lists the failed chunks
/// and the command that retries them). Rides out a store that restarts.
enum JobFollower {
    static func follow(id: String, options: FollowOptions, cluster: ClusterOptions) async throws {
        let jobs = try cluster.jobs()
        let deadline = Date().addingTimeInterval(options.timeout)
        let bar = ProgressBar(quiet: false, plainEvery: options.progressEvery)
        while Date() < deadline {
            let progress: JobProgress?
            do { progress = try await JobProgress.load(jobId: id.lowercased(), jobs: jobs) } catch where Fault.isTransient(error) {
                FileHandle.standardError.write(Data("reframe watch: \(error); retrying\n".utf8))
                try await Task.sleep(nanoseconds: UInt64(max(options.interval, 1) * 1e9))
                continue
            }
            if let p = progress {
                bar.update(p)
                if p.state.isFinal {
                    print(StatusView.render(id: id, p, retry: StatusView.retryCommand(id: id, cluster: cluster)))
                    if p.state != .done { throw ExitCode(1) }
                    return
                }
            }
            try await Task.sleep(nanoseconds: UInt64(options.interval * 1e9))
        }
        throw ValidationError("job \(id) did not finish within \(Int(options.timeout)) s")
    }
}
