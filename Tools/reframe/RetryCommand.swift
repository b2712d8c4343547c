import ArgumentParser
import Core
import Foundation
import Messaging
import Pipeline
import Store

/// `reframe retry ID`: `reframe chunks retry ID --failed`, kept for scripts that use it.
struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Retry the failed chunks (and finalize) of a job.")
    @Argument(help: "Job id.") var id: String
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        print(try await RetryPlanner.run(jobId: id.lowercased(), selection: .everything, cluster: cluster))
    }
}

extension RetryPlanner {
    /// Requeues on the cluster and says what it did; refusals become the documented exit codes
    /// (2: no such job, 3: nothing to retry, 64: not retryable in its state).
    static func run(jobId: String, selection: Selection, cluster: ClusterOptions) async throws -> String {
        let bus = try cluster.bus()
        let outcome: Result<[Item], Error>
        do { outcome = .success(try await requeue(jobId: jobId, selection: selection, jobs: try cluster.jobs(), bus: bus)) } catch {
            outcome = .failure(error)
        }
        await bus.close()
        switch outcome {
        case .success(let items):
            return summary(items, jobId: jobId)
        case .failure(Refusal.noSuchJob):
            throw JobLookup.missing(jobId)
        case .failure(let refusal as Refusal):
            if case .notRetryable = refusal { throw ValidationError(refusal.description) }
            FileHandle.standardError.write(Data("reframe: \(refusal)\n".utf8))
            throw ExitCode(3)
        case .failure(let error):
            throw error
        }
    }
}
