import ArgumentParser
import Core
import Foundation
import Pipeline
import Store

/// `reframe cancel ID`: `JobCancellation` (marks the job cancelled and deletes its frames).
struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop a job: mark it cancelled and delete its frame keys.",
        discussion: "Exit codes: 0 cancelled, 1 the job had already ended, 2 no such job.")
    @Argument(help: "Job id.") var id: String
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        switch try await JobCancellation.cancel(id.lowercased(), by: "reframe cancel", jobs: try cluster.jobs()) {
        case .missing: throw JobLookup.missing(id)
        case .alreadyEnded(let state):
            FileHandle.standardError.write(Data("reframe: job \(id) already \(state.rawValue)\n".utf8))
            throw ExitCode(1)
        case .cancelled: break
        }
        print("job \(id) cancelled")
    }
}
