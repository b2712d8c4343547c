import Core
import Foundation
import Messaging
import Store

/// The common path of the per-chunk stages (upscale, interpolate): one input chunk in, one output
/// chunk out under a deterministic key, then on to the next hop the message names.
protocol ChunkTransform: StageHandler {
    /// Loads the input, processes it and stores the output at `outputKey`, recording frames as they
    /// are made in `progress`; returns the frames produced and the bytes stored.
    func transform(_ message: StageMessage, chunk: ChunkRef, plan: JobPlan, outputKey: String, progress: InChunkProgress,
                   context: StageContext) async throws -> StageWork
}

extension ChunkTransform {
    public func process(_ delivery: BusDelivery, context: StageContext) async throws -> StageOutcome {
        let message = try StageMessage.decode(Data(delivery.body), expecting: stage)
        guard let chunk = message.chunk, let input = message.input else { throw MessageError("chunk message without chunk") }
        let jobs = context.jobs
        let dropInput: @Sendable () async throws -> Void = { try await jobs.deleteChunk(key: input, jobId: message.jobId) }
        guard let job = try await jobs.job(message.jobId), let plan = job.plan else {
            throw PermanentFailure("job \(message.jobId) is unknown (expired or never ingested)")
        }
        if job.state.isFinal { return StageOutcome(cleanup: dropInput) }
        guard let hop = message.next.first else { throw MessageError("\(stage.rawValue) message names no next hop") }
        let outputKey = Keys.chunk(message.jobId, stage: stage, chunk: chunk.index)
        let field = Keys.chunkField(chunk.index, stage)
        // Step 1: a redelivered message whose work is recorded skips straight to publishing.
        var work = StageWork()
        if try await jobs.chunkState(message.jobId, field: field)?.state != .done {
            do {
                work = try await InChunkProgress.reporting(jobId: message.jobId, field: field, jobs: jobs) { progress in
                    let work = try await transform(message, chunk: chunk, plan: plan, outputKey: outputKey, progress: progress, context: context)
                    CrashPoint.strike(.afterStore, stage, logger: context.logger)
                    try await jobs.markChunk(message.jobId, field: field, ChunkState(state: .done, frames: work.frames))
                    return work
                }
                CrashPoint.strike(.afterMark, stage, logger: context.logger)
            } catch StoreError.missing(let what) {
                // A duplicate delivery may have finished this chunk and deleted its input meanwhile.
                guard try await jobs.chunkState(message.jobId, field: field)?.state == .done else { throw StoreError.missing(what) }
            }
        }
        let next = StageMessage(jobId: message.jobId, stage: hop, chunk: chunk, input: outputKey,
                                next: Array(message.next.dropFirst()), attempt: 1)
        return StageOutcome(next: [next], cleanup: dropInput, work: work)
    }
}

/// Upscaler stage: every stored frame (the lookahead too) made `factor` times larger.
public struct UpscaleHandler: ChunkTransform {
    public let stage = Stage.upscale
    public init() {}

    func transform(_ message: StageMessage, chunk: ChunkRef, plan: JobPlan, outputKey: String, progress: InChunkProgress,
                   context: StageContext) async throws -> StageWork {
        guard let spec = plan.upscale else { throw PermanentFailure("plan has no upscale step") }
        let (manifest, frames) = try await context.jobs.loadChunk(key: message.input!)
        let upscaler = try UpscalerFactory.make(spec: spec, manifest: manifest)
        let own = manifest.ownFrames
        let output = try await BlockingWork.run {
            try frames.enumerated().map { n, frame in
                TestSlowFrames.pause()
                let upscaled = try upscaler.upscale(frame)
                // The lookahead frame is the next chunk's, not one of this chunk's frames.
                progress.record(framesDone: min(n + 1, own))
                return upscaled
            }
        }
        var out = manifest
        out.width *= spec.factor
        out.height *= spec.factor
        let bytes = try await context.jobs.putChunk(key: outputKey, jobId: message.jobId, manifest: out, frames: output)
        return StageWork(frames: manifest.ownFrames, bytes: bytes)
    }
}

/// Interpolator stage: in-betweens from each frame to its successor (the lookahead for the last).
public struct InterpolateHandler: ChunkTransform {
    public let stage = Stage.interpolate
    public init() {}

    func transform(_ message: StageMessage, chunk: ChunkRef, plan: JobPlan, outputKey: String, progress: InChunkProgress,
                   context: StageContext) async throws -> StageWork {
        guard let spec = plan.interpolate else { throw PermanentFailure("plan has no interpolate step") }
        let (manifest, frames) = try await context.jobs.loadChunk(key: message.input!)
        let own = Array(manifest.pts.prefix(manifest.ownFrames))
        let timing = plan.outputTiming
        var samples = timing.samples(pts: own, nextPts: manifest.endPts, hasNext: manifest.lookahead,
                                     sceneCuts: Array(manifest.sceneCut.dropFirst()))
        var keyFrames = frames
        if let duplicate = manifest.duplicate, duplicate.contains(true) {
            // Interpolate over the real motion: only distinct frames go to the interpolator.
            let (keys, remapped) = Deduplication.apply(samples: samples, pts: manifest.pts, endPts: manifest.endPts,
                                                       duplicate: duplicate, sceneCut: manifest.sceneCut)
            keyFrames = keys.map { frames[$0] }
            samples = remapped
        }
        let interpolator = try InterpolatorFactory.make(spec: spec, manifest: manifest)
        let (inputs, wanted) = (keyFrames, samples)
        let output = try await BlockingWork.run {
            try interpolator.interpolate(frames: inputs, samples: wanted) { progress.record(framesDone: $0) }
        }
        let endPts: Int64
        switch timing.kind {
        case .factor: endPts = manifest.endPts * Int64(timing.factor)
        case .targetRate, .passthrough: endPts = rescale(manifest.endPts - timing.sourceStartPts, from: manifest.timeBase, to: timing.outputTimeBase)
        }
        let out = ChunkManifest(width: manifest.width, height: manifest.height, pixelFormat: manifest.pixelFormat,
                                timeBase: timing.outputTimeBase, pts: output.map(\.pts), sceneCut: output.map { _ in false },
                                lookahead: false, endPts: endPts)
        let bytes = try await context.jobs.putChunk(key: outputKey, jobId: message.jobId, manifest: out, frames: output)
        return StageWork(frames: output.count, bytes: bytes)
    }
}
