import Core
import Store

/// Records a message's failure where users look (DESIGN.md §4): the chunk's state in the chunk hash
/// and the job's error. A failed chunk does not stop the others; the job ends `failed` once every
/// chunk has reached an end (`FinalizeGate.settle`), so `reframe chunks retry` has only it to redo.
enum ChunkFailure {
    /// `keepEarlier`: a failure already recorded for this chunk (by the worker, with its error) is kept.
    static func record(_ message: StageMessage, error: String, jobs: JobStore, keepEarlier: Bool = false) async throws {
        let what = message.chunk.map { "chunk \($0.index)" } ?? message.segment.map { "segment \($0)" } ?? "job"
        let text = "\(message.stage.rawValue) of \(what): \(error)"
        guard let field = field(message) else {
            // Ingest or finalize: nothing else of the job can go on. Counted only when this ends it
            // (a broker dead-letter notice of the same message comes here again).
            let ending = try await jobs.job(message.jobId)?.state.isFinal != true
            try await jobs.setState(message.jobId, .failed, error: text)
            if ending { ServiceMetrics.jobEnded(.failed) }
            return
        }
        let earlier = try await jobs.chunkState(message.jobId, field: field)
        // Another delivery of the same message finished it: that result stands.
        if earlier?.state == .done { return }
        if !(keepEarlier && earlier?.state == .failed) {
            try await jobs.markChunk(message.jobId, field: field, ChunkState(state: .failed, frames: 0, error: error))
        }
        guard let job = try await jobs.job(message.jobId), !job.state.isFinal else { return }
        if !(keepEarlier && earlier?.state == .failed) { try await jobs.setError(message.jobId, text) }
        if let plan = job.plan { try await FinalizeGate.settle(jobId: message.jobId, plan: plan, jobs: jobs) }
    }

    /// The chunk-state field a message works on.
    static func field(_ message: StageMessage) -> String? {
        message.chunk.map { Keys.chunkField($0.index, message.stage) } ?? message.segment.map(Keys.segmentField)
    }
}
