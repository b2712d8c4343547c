import Core
import Store

/// Decides when a job's chunks are all at an end. The encoders ask after every chunk, so that check
/// reads the job's counters (O(1), kept atomically with the chunk states); finalize, once per job,
/// reads the whole chunk hash for the chunk list and frame counts. Each segment's record (with its
/// chunk count) is written before its chunks are published, so the last chunk sees the full count.
enum FinalizeGate {
    enum Verdict: Equatable {
        /// Chunks are still on their way.
        case pending
        /// Every chunk is encoded: finalize may run.
        case ready
        /// Every chunk is at an end and some failed: the job ends failed.
        case failed
    }

    static func verdict(jobId: String, plan: JobPlan, jobs: JobStore) async throws -> Verdict {
        let counts = try await jobs.counts(jobId)
        if counts.allEncoded(segments: plan.segments.count) { return .ready }
        return counts.settledWithFailures(segments: plan.segments.count) ? .failed : .pending
    }

    /// The verdict, after ending the job failed when that is all it can do (its error names a chunk).
    @discardableResult
    static func settle(jobId: String, plan: JobPlan, jobs: JobStore) async throws -> Verdict {
        let v = try await verdict(jobId: jobId, plan: plan, jobs: jobs)
        if v == .failed, let job = try await jobs.job(jobId), !job.state.isFinal {
            try await jobs.setState(jobId, .failed)
            ServiceMetrics.jobEnded(.failed)
        }
        return v
    }

    /// The job's chunks in order with the chunk hash they were read from, or nil while any is unencoded.
    static func encodedChunks(jobId: String, plan: JobPlan, jobs: JobStore) async throws -> (refs: [ChunkRef], states: [String: ChunkState])? {
        let states = try await jobs.chunkStates(jobId)
        var refs: [ChunkRef] = []
        for segment in plan.segments {
            guard let s = states[Keys.segmentField(segment.index)], s.state == .done, let chunks = s.chunks else { return nil }
            refs += chunks
        }
        for ref in refs where states[Keys.chunkField(ref.index, .encode)]?.state != .done { return nil }
        return (refs.sorted { $0.index < $1.index }, states)
    }
}
