import Core
import Enhance
import Foundation
import Media
import Messaging
import Store

/// Extractor stage: decodes one keyframe-aligned segment, cuts it into chunks (bounded by frames and
/// bytes, preferring scene cuts), stores them and hands each to the plan's first hop. Chunks carry
/// the next frame as lookahead when interpolation follows, across segment boundaries too.
public struct ExtractHandler: StageHandler {
    public let stage = Stage.extract
    public init() {}

    public func process(_ delivery: BusDelivery, context: StageContext) async throws -> StageOutcome {
        let message = try StageMessage.decode(Data(delivery.body), expecting: .extract)
        let jobs = context.jobs
        guard let job = try await jobs.job(message.jobId), let plan = job.plan else {
            throw PermanentFailure("job \(message.jobId) is unknown (expired or never ingested)")
        }
        if job.state.isFinal { return StageOutcome() }
        guard let index = message.segment, index < plan.segments.count else {
            throw MessageError("segment \(message.segment ?? -1) is not in the plan (\(plan.segments.count) segments)")
        }
        let hops = plan.hopsAfterExtract
        func firstHop(_ ref: ChunkRef) -> StageMessage {
            StageMessage(jobId: message.jobId, stage: hops[0], chunk: ref, input: Keys.chunk(message.jobId, stage: .extract, chunk: ref.index),
                         next: Array(hops.dropFirst()))
        }
        if let only = message.chunk {
            // `reframe chunks retry` of a chunk whose stored frames expired: the segment is cut again
            // (the cut is deterministic) and only that chunk is stored and passed on.
            let (refs, _, bytes) = try await extract(segment: plan.segments[index], plan: plan, context: context, only: only.index)
            guard refs.contains(only) else {
                throw PermanentFailure("segment \(index) no longer cuts into chunk \(only.index) of \(only.frameCount) frames (has the source changed?)")
            }
            return StageOutcome(next: [firstHop(only)], work: StageWork(frames: only.frameCount, bytes: bytes))
        }
        let field = Keys.segmentField(index)
        let refs: [ChunkRef]
        var work = StageWork()
        if let done = try await jobs.chunkState(message.jobId, field: field), done.state == .done, let chunks = done.chunks {
            refs = chunks
        } else {
            let (chunks, frames, bytes) = try await extract(segment: plan.segments[index], plan: plan, context: context)
            // Cancelled while extracting: the segment is not done; the worker purges what was stored.
            if try await jobs.state(message.jobId) == .cancelled { return StageOutcome(next: []) }
            work = StageWork(frames: frames, bytes: bytes)
            CrashPoint.strike(.afterStore, stage, logger: context.logger)
            try await jobs.markChunk(message.jobId, field: field, ChunkState(state: .done, frames: frames, chunks: chunks))
            CrashPoint.strike(.afterMark, stage, logger: context.logger)
            refs = chunks
        }
        return StageOutcome(next: refs.map(firstHop), work: work)
    }

    /// Decodes and cuts the segment and stores its chunks (only chunk `only`, when given); returns
    /// every chunk's reference, the segment's frame count and the bytes stored.
    private func extract(segment: SegmentPlan, plan: JobPlan, context: StageContext, only: Int? = nil) async throws -> ([ChunkRef], Int, Int64) {
        let path = try MediaPath.resolve(plan.source, under: context.mediaRoot, field: "source")
        let wantsLookahead = plan.hops.contains(.interpolate)
        let duplicates = DuplicateDetector(threshold: plan.interpolate?.effectiveDuplicateThreshold ?? 0)
        let threads = context.settings.codecThreads
        // Decoding is synchronous and storing is not, so the segment is cut first (on a thread of
        // its own) and stored after; memory holds one segment (a few seconds) of frames.
        let (closed, ownFrames, entriesMissed) = try await BlockingWork.run {
            try Self.decodeAndCut(segment: segment, plan: plan, path: path, threads: threads, wantsLookahead: wantsLookahead, duplicates: duplicates)
        }
        for missed in entriesMissed {
            context.logger.warning("seek landed after the segment's entry; decoded it again from earlier (exact, slower)",
                                   metadata: ["job": "\(plan.jobId)", "detail": "\(missed)"])
        }
        guard ownFrames > 0 else { throw PermanentFailure("segment \(segment.index) decoded to no frames") }
        guard ownFrames <= segment.frameCount else {
            throw PermanentFailure("segment \(segment.index) decoded to \(ownFrames) frames but the packet index lists \(segment.frameCount)")
        }
        if ownFrames < segment.frameCount {
            context.logger.warning("segment decoded short (corrupt packets?)", metadata: ["segment": "\(segment.index)", "frames": "\(ownFrames)", "indexed": "\(segment.frameCount)"])
        }

        let budget = InFlightBudget(settings: context.settings, storeLimit: try await context.jobs.kv.memoryLimit(), growth: plan.storedBytesGrowth)
        var refs: [ChunkRef] = []
        var stored: Int64 = 0
        var first = segment.firstFrame
        for (n, chunk) in closed.enumerated() {
            let isVideoEnd = segment.isLast && n == closed.count - 1
            var frames = chunk.frames
            if let la = chunk.lookahead { frames.append(la) }
            let endPts = chunk.lookahead?.frame.pts ?? (isVideoEnd ? plan.video.endPts : (closed.indices.contains(n + 1) ? closed[n + 1].frames[0].frame.pts : segment.endPts))
            let manifest = ChunkManifest(width: plan.video.width, height: plan.video.height, pixelFormat: plan.workingPixelFormat,
                                         timeBase: plan.video.timeBase, pts: frames.map(\.frame.pts), sceneCut: frames.map(\.cut),
                                         duplicate: duplicates.threshold > 0 && wantsLookahead ? frames.map(\.duplicate) : nil,
                                         lookahead: chunk.lookahead != nil, endPts: endPts)
            let ref = ChunkRef(index: first, firstFrame: first, frameCount: chunk.frames.count, lookahead: chunk.lookahead != nil)
            refs.append(ref)
            first += chunk.frames.count
            if let only, only != ref.index { continue }
            // A cancelled job stores no more of its segment (checked per chunk: a segment holds seconds of frames).
            if only == nil, try await context.jobs.state(plan.jobId) == .cancelled { break }
            try await waitForRoom(budget, jobId: plan.jobId, context: context)
            stored += try await context.jobs.putChunk(key: Keys.chunk(plan.jobId, stage: .extract, chunk: ref.index), jobId: plan.jobId,
                                            manifest: manifest, frames: frames.map(\.frame))
        }
        return (refs, ownFrames, stored)
    }

    /// Decodes a segment and cuts it into chunks (with scene cuts and duplicates marked).
    private static func decodeAndCut(segment: SegmentPlan, plan: JobPlan, path: String, threads: Int, wantsLookahead: Bool,
                                     duplicates: DuplicateDetector) throws -> (closed: [CutChunk], ownFrames: Int, entriesMissed: [String]) {
        let decoder = try SegmentDecoder(path: path, workingPixelFormat: plan.workingPixelFormat, threads: threads,
                                         deinterlace: plan.deinterlace, fieldRate: plan.deinterlaceAtFieldRate == true)
        var detector = SceneDetector(threshold: plan.sceneThreshold)
        let frameBytes = try PlaneLayout(width: plan.video.width, height: plan.video.height, pixelFormat: plan.workingPixelFormat).byteCount
        let maxFrames = ChunkCutter.maxFrames(frameBytes: frameBytes, policy: plan.chunkPolicy)

        var pending: [Extracted] = []
        var closed: [CutChunk] = []
        var ownFrames = 0
        var previous: VideoFrame?
        try decoder.decode(segment: segment, lookahead: wantsLookahead) { frame in
            // Scene cuts only matter to interpolation; skip the cost otherwise.
            let cut = wantsLookahead ? (previous.map { detector.isCut(previous: $0, current: frame) } ?? false) : false
            let duplicate = wantsLookahead && !cut ? (previous.map { duplicates.isDuplicate(previous: $0, current: frame) } ?? false) : false
            previous = frame
            let isLookahead = !segment.isLast && frame.pts >= segment.endPts
            let extracted = Extracted(frame: frame, cut: cut, duplicate: duplicate)
            // A chunk does not end just before a repeated frame (up to a few frames past its size), so the
            // lookahead of a chunk ending in a held picture is the next distinct one.
            let closes = ChunkCutter.closes(length: pending.count, nextIsCut: cut, maxFrames: maxFrames, policy: plan.chunkPolicy)
                && !(duplicate && pending.count < maxFrames + Deduplication.defaultMaxRun)
            if !pending.isEmpty && (isLookahead || closes) {
                closed.append(CutChunk(frames: pending, lookahead: wantsLookahead ? extracted : nil))
                pending = []
            }
            if !isLookahead {
                pending.append(extracted)
                ownFrames += 1
            }
        }
        if !pending.isEmpty { closed.append(CutChunk(frames: pending, lookahead: nil)) }
        return (closed, ownFrames, decoder.entriesMissed)
    }

    /// A chunk's frames and the lookahead frame after them.
    struct CutChunk: Sendable {
        var frames: [Extracted]
        var lookahead: Extracted?
    }

    /// A decoded frame with what the detectors said of it.
    struct Extracted: Sendable {
        var frame: VideoFrame
        /// Starts a new scene.
        var cut: Bool
        /// Repeats the previous frame.
        var duplicate: Bool
    }

    /// Backpressure (DESIGN.md §5): no new chunks while the job or the cluster holds too many bytes.
    /// Bytes in flight are weighed by how much they may still grow downstream (an upscaled,
    /// interpolated chunk is many times its extracted size), and the budgets never exceed half the
    /// store's own memory limit, so the stages after extraction always find room to write.
    private func waitForRoom(_ budget: InFlightBudget, jobId: String, context: StageContext) async throws {
        var waited = 0.0
        while true {
            let job = try await context.jobs.inFlightBytes(jobId: jobId)
            let cluster = try await context.jobs.inFlightBytes(jobId: nil)
            // An empty pipeline always takes a chunk, so a budget below one chunk slows a job instead of stopping it.
            if job == 0 || budget.admits(job: job, cluster: cluster) {
                if waited > 0 { context.logger.info("in-flight budget has room again", metadata: ["job": "\(jobId)", "waited_s": "\(String(format: "%.1f", waited))"]) }
                return
            }
            if waited == 0 {
                context.logger.info("over in-flight budget; waiting", metadata: [
                    "job": "\(jobId)", "job_bytes": "\(job)", "cluster_bytes": "\(cluster)", "growth": "\(String(format: "%.1f", budget.growth))",
                    "job_budget": "\(budget.job)", "cluster_budget": "\(budget.cluster)"])
            }
            try await Task.sleep(nanoseconds: 100_000_000)
            waited += 0.1
        }
    }
}
