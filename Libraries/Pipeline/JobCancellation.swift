import Core
import Store

/// Cancelling a job, shared by `reframe cancel` and `DELETE /v1/jobs/{id}`: marks it cancelled and
/// deletes its frames. Workers drop any message of a job that has ended (and its input), so the
/// work still queued stops at its next step.
public enum JobCancellation {
    public enum Outcome: Sendable, Equatable {
        case cancelled
        case alreadyEnded(JobState)
        case missing
    }

    /// `by` says who asked; it becomes the job's error text.
    public static func cancel(_ jobId: String, by: String, jobs: JobStore) async throws -> Outcome {
        guard let record = try await jobs.job(jobId) else { return .missing }
        if record.state.isFinal { return .alreadyEnded(record.state) }
        try await jobs.setState(jobId, .cancelled, error: "cancelled by \(by)")
        try await jobs.purgeFrames(jobId: jobId)
        // Counted where the cancel is served (the API in Ingest); the CLI has no metrics endpoint.
        ServiceMetrics.jobEnded(.cancelled)
        return .cancelled
    }
}
