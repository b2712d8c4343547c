import Core
import Foundation
import Media
import Messaging
import Store

/// Assembler, encode half: one chunk → one encoded segment that starts with a keyframe. The encoder
/// that finishes the last chunk of a job publishes the finalize message.
public struct EncodeHandler: StageHandler {
    public let stage = Stage.encode
    public init() {}

    public func process(_ delivery: BusDelivery, context: StageContext) async throws -> StageOutcome {
        let message = try StageMessage.decode(Data(delivery.body), expecting: .encode)
        guard let chunk = message.chunk, let input = message.input else { throw MessageError("encode message without chunk") }
        let jobs = context.jobs
        let dropInput: @Sendable () async throws -> Void = { try await jobs.deleteChunk(key: input, jobId: message.jobId) }
        guard let job = try await jobs.job(message.jobId), let plan = job.plan else {
            throw PermanentFailure("job \(message.jobId) is unknown (expired or never ingested)")
        }
        if job.state.isFinal { return StageOutcome(cleanup: dropInput) }
        let field = Keys.chunkField(chunk.index, .encode)
        var work = StageWork()
        if try await jobs.chunkState(message.jobId, field: field)?.state != .done {
            let loaded: (ChunkManifest, [VideoFrame])
            do { loaded = try await jobs.loadChunk(key: input) } catch StoreError.missing(let what) {
                // A duplicate delivery may have finished this chunk and deleted its input meanwhile.
                guard try await jobs.chunkState(message.jobId, field: field)?.state == .done else { throw StoreError.missing(what) }
                return try await announce(message, chunk: chunk, plan: plan, jobs: jobs, cleanup: dropInput)
            }
            let (manifest, frames) = loaded
            let own = Array(frames.prefix(manifest.ownFrames))
            let settings = EncoderSettings(codec: plan.encode.codec, crf: plan.encode.crf, preset: plan.encode.preset,
                                           pixelFormat: plan.encode.pixelFormat, threads: context.settings.codecThreads)
            let frameRate = plan.outputTiming.outputFrameRate(sourceRate: plan.video.frameRate)
            let (sar, endPts) = (plan.video.sampleAspectRatio, manifest.lookahead ? manifest.pts[manifest.ownFrames] : manifest.endPts)
            let segment = try await BlockingWork.run {
                try ChunkEncoder.encode(frames: own, settings: settings, timeBase: manifest.timeBase, frameRate: frameRate,
                                        sampleAspectRatio: sar, endPts: endPts)
            }
            guard segment.frameCount == own.count else {
                throw PermanentFailure("encoder returned \(segment.frameCount) packets for \(own.count) frames")
            }
            work = StageWork(frames: segment.frameCount, bytes: try await jobs.putEncoded(jobId: message.jobId, chunk: chunk.index, segment))
            CrashPoint.strike(.afterStore, stage, logger: context.logger)
            try await jobs.markChunk(message.jobId, field: field, ChunkState(state: .done, frames: segment.frameCount))
            CrashPoint.strike(.afterMark, stage, logger: context.logger)
        }
        var outcome = try await announce(message, chunk: chunk, plan: plan, jobs: jobs, cleanup: dropInput)
        outcome.work = work
        return outcome
    }

    /// The encoder of the last chunk publishes finalize (or, if another chunk failed, ends the job
    /// failed). The claim (first chunk to see the job ready, or a redelivery of that same chunk's
    /// message) keeps it to one finalize message per job.
    private func announce(_ message: StageMessage, chunk: ChunkRef, plan: JobPlan, jobs: JobStore,
                          cleanup: @escaping @Sendable () async throws -> Void) async throws -> StageOutcome {
        let ready = try await FinalizeGate.settle(jobId: message.jobId, plan: plan, jobs: jobs) == .ready
        let claimed = ready ? try await jobs.claimFinalize(jobId: message.jobId, chunk: chunk.index) : false
        return StageOutcome(next: claimed ? [StageMessage(jobId: message.jobId, stage: .finalize)] : [], cleanup: cleanup)
    }
}
