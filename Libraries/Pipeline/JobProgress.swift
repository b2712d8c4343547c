import Core
import Store

/// Per-stage progress of a job, computed from its chunk hash (the one place users read progress from).
public struct JobProgress: Sendable {
    public struct StageCount: Sendable, Equatable {
        public var stage: Stage
        public var chunksDone: Int
        /// Exact: frames of the chunks marked done.
        public var framesDone: Int
        /// A display hint: frames finished so far inside chunks not yet done (InChunkProgress).
        public var framesInProgress = 0

        /// What a live display shows: done and in progress together.
        public var framesLive: Int { framesDone + framesInProgress }
    }

    public var state: JobState
    public var error: String?
    /// The finished output's notes (`JobRecord.notes`).
    public var notes: [String]
    public var segmentsTotal: Int
    public var segmentsDone: Int
    /// Known once every segment is extracted; until then, chunks seen so far.
    public var chunksTotal: Int
    public var sourceFrames: Int
    public var expectedOutputFrames: Int
    public var stages: [StageCount]
    public var failedChunks: [(field: String, error: String)]

    /// Frames a stage emits in total: source frames before interpolation, output frames from it on.
    public func expectedFrames(_ stage: Stage) -> Int {
        guard let interpolate = stages.firstIndex(where: { $0.stage == .interpolate }),
              let index = stages.firstIndex(where: { $0.stage == stage }), index >= interpolate else { return sourceFrames }
        return expectedOutputFrames
    }

    /// Fraction done, each stage weighted equally.
    public var fraction: Double {
        if state == .done { return 1 }
        guard !stages.isEmpty else { return 0 }
        let parts = stages.map { min(1, Double($0.framesDone) / Double(max(expectedFrames($0.stage), 1))) }
        return min(0.999, parts.reduce(0, +) / Double(parts.count))
    }

    public static func load(jobId: String, jobs: JobStore) async throws -> JobProgress? {
        guard let record = try await jobs.job(jobId) else { return nil }
        return try await load(record, jobs: jobs)
    }

    /// The progress of a job whose record the caller has just read (the API checks its tenant
    /// first): one read of the record, not two.
    public static func load(_ record: JobRecord, jobs: JobStore) async throws -> JobProgress {
        let jobId = record.id
        // Read before the chunk states: a chunk marked done between the two reads is then ignored
        // here (done wins), never counted twice; at worst it is missing from one snapshot.
        let inProgress = record.state.isFinal ? [:] : try await jobs.framesInProgress(jobId)
        let states = try await jobs.chunkStates(jobId)
        guard let plan = record.plan else {
            return JobProgress(state: record.state, error: record.error, notes: record.notes, segmentsTotal: 0, segmentsDone: 0, chunksTotal: 0,
                               sourceFrames: 0, expectedOutputFrames: 0, stages: [], failedChunks: [])
        }
        var stages = [StageCount(stage: .extract, chunksDone: 0, framesDone: 0)]
        stages += plan.hopsAfterExtract.map { StageCount(stage: $0, chunksDone: 0, framesDone: 0) }
        var segmentsDone = 0, chunksTotal = 0
        var failed: [(String, String)] = []
        for (field, state) in states.sorted(by: { $0.key < $1.key }) {
            if state.state == .failed { failed.append((field, state.error ?? "failed")); continue }
            if field.hasPrefix("s"), field.hasSuffix(":extract") {
                segmentsDone += 1
                chunksTotal += state.chunks?.count ?? 0
                stages[0].chunksDone += state.chunks?.count ?? 0
                stages[0].framesDone += state.frames
                continue
            }
            let parts = field.split(separator: ":")
            guard parts.count == 2, let stage = Stage(rawValue: String(parts[1])), let i = stages.firstIndex(where: { $0.stage == stage }) else { continue }
            stages[i].chunksDone += 1
            stages[i].framesDone += state.frames
        }
        for (field, frames) in inProgress where states[field] == nil {
            guard let name = ChunkFieldName(field), let i = stages.firstIndex(where: { $0.stage == name.stage }) else { continue }
            stages[i].framesInProgress += frames
        }
        return JobProgress(
            state: record.state, error: record.error, notes: record.notes, segmentsTotal: plan.segments.count, segmentsDone: segmentsDone,
            chunksTotal: chunksTotal, sourceFrames: plan.video.frameCount,
            expectedOutputFrames: plan.outputTiming.expectedFrameCount(sourceFrames: plan.video.frameCount, startPts: plan.video.startPts, endPts: plan.video.endPts),
            stages: stages, failedChunks: failed)
    }
}
