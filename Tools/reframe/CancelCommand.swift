import ArgumentParser
import Core
import Foundation
import Store

/// `reframe cancel ID`: marks the job cancelled and deletes its frames. Workers drop any message of
/// a job that has ended (and its input), so the work still queued stops at its next step.
struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop a job: mark it cancelled and delete its frame keys.",
        discussion: "Exit codes: 0 cancelled, 1 the job had already ended, 2 no such job.")
    @Argument(help: "Job id.") var id: String
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let jobId = id.lowercased()
        let jobs = try cluster.jobs()
        guard let record = try await jobs.job(jobId) else { throw JobLookup.missing(id) }
        if record.state.isFinal {
            FileHandle.standardError.write(Data("reframe: job \(id) already \(record.state.rawValue)\n".utf8))
            throw ExitCode(1)
        }
        try await jobs.setState(jobId, .cancelled, error: "cancelled by reframe cancel")
        try await jobs.purgeFrames(jobId: jobId)
        print("job \(id) cancelled")
    }
}
