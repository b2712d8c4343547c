import Core
import Foundation
import Media
import Messaging
import Store

/// Assembler, finalize half: once per job, joins the encoded segments in order without re-encoding,
/// copies audio and subtitles from the source, verifies the frame count and marks the job done.
public struct FinalizeHandler: StageHandler {
    public let stage = Stage.finalize
    public init() {}

    public func process(_ delivery: BusDelivery, context: StageContext) async throws -> StageOutcome {
        let message = try StageMessage.decode(Data(delivery.body), expecting: .finalize)
        let jobs = context.jobs
        guard let job = try await jobs.job(message.jobId), let plan = job.plan else {
            throw PermanentFailure("job \(message.jobId) is unknown (expired or never ingested)")
        }
        // Several encoders may have announced the end; only the first finalize does the work. A
        // redelivered message of a done job means its finalizer died before cleaning up: finish that.
        if job.state.isFinal {
            if job.state == .done { try await cleanUp(jobId: message.jobId, jobs: jobs) }
            return StageOutcome()
        }
        let owner = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
        guard try await jobs.acquireFinalizeLock(jobId: message.jobId, owner: owner, ttl: context.settings.finalizeLockSeconds) else {
            // Another finalizer is at work; if it dies, its lock expires and this redelivered message takes over.
            if try await jobs.job(message.jobId)?.state.isFinal == true { return StageOutcome() }
            throw FinalizeBusy()
        }
        do {
            try await finalize(plan: plan, context: context)
        } catch {
            try? await jobs.releaseFinalizeLock(jobId: message.jobId)
            throw error
        }
        try await jobs.setState(message.jobId, .done)
        try await cleanUp(jobId: message.jobId, jobs: jobs)
        return StageOutcome()
    }

    /// Deletes a done job's frames and lock before the message is acked (not after, as other stages
    /// delete their input): a finalizer killed in between leaves the message, and its redelivery
    /// cleans up, so no key of the job outlives it until its TTL.
    private func cleanUp(jobId: String, jobs: JobStore) async throws {
        try await jobs.purgeFrames(jobId: jobId)
        try await jobs.releaseFinalizeLock(jobId: jobId)
    }

    private func finalize(plan: JobPlan, context: StageContext) async throws {
        let jobs = context.jobs
        guard let (refs, states) = try await FinalizeGate.encodedChunks(jobId: plan.jobId, plan: plan, jobs: jobs) else {
            throw PermanentFailure("finalize before every chunk was encoded")
        }
        let extracted = plan.segments.reduce(0) { $0 + (states[Keys.segmentField($1.index)]?.frames ?? 0) }
        let encoded = refs.reduce(0) { $0 + (states[Keys.chunkField($1.index, .encode)]?.frames ?? 0) }
        // The assembler verifies counts before it marks a job done (DESIGN.md §6).
        if plan.outputTiming.kind != .targetRate {
            let expected = plan.outputTiming.expectedFrameCount(sourceFrames: extracted, startPts: plan.video.startPts, endPts: plan.video.endPts)
            guard encoded == expected else {
                throw PermanentFailure("encoded \(encoded) frames, expected \(expected) from \(extracted) source frames")
            }
        }
        let output = try MediaPath.resolve(plan.output, under: context.mediaRoot, field: "output")
        try FileManager.default.createDirectory(atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let source = try MediaPath.resolve(plan.source, under: context.mediaRoot, field: "source")
        let audio = Self.audioTreatment(plan)
        let first = try await jobs.encoded(jobId: plan.jobId, chunk: refs[0].index)
        // A stretch runs inside `append` as the video arrives: each call decodes, slows and encodes only
        // the audio under that segment, so no call blocks for long.
        // Muxing (and any audio re-encoding) runs on threads of its own; the muxer is used by one
        // call at a time, in order.
        let stretch = audio.stretch, audioSource = audio == .drop ? nil : source
        nonisolated(unsafe) let muxer = try await BlockingWork.run {
            UncheckedSendable(try SegmentMuxer(outputPath: output, first: first.header, audioSource: audioSource, stretch: stretch))
        }.value
        try await BlockingWork.run { try muxer.append(first) }
        for ref in refs.dropFirst() {
            let segment = try await jobs.encoded(jobId: plan.jobId, chunk: ref.index)
            try await BlockingWork.run { try muxer.append(segment) }
        }
        let report = try await BlockingWork.run { try muxer.finish() }
        guard report.videoFrames == encoded else {
            throw PermanentFailure("wrote \(report.videoFrames) frames, encoded \(encoded)")
        }
        if report.stretchedAudioStreams > 0, case .stretch(let s) = audio {
            context.logger.info("audio time-stretched", metadata: ["streams": "\(report.stretchedAudioStreams)", "factor": "\(s.factor)"])
        }
        for note in report.reencodedAudio { context.logger.info("audio re-encoded", metadata: ["stream": "\(note)"]) }
        for skipped in report.skippedStreams { context.logger.warning("stream not copied", metadata: ["stream": "\(skipped)"]) }
        context.logger.info("job done", metadata: ["job": "\(plan.jobId)", "output": "\(plan.output)", "frames": "\(encoded)"])
    }
}

/// What finalize does with the source's audio and subtitles.
enum AudioTreatment: Equatable {
    case drop
    case copy
    case stretch(SegmentMuxer.AudioStretch)

    var stretch: SegmentMuxer.AudioStretch? {
        if case .stretch(let s) = self { return s }
        return nil
    }
}

extension FinalizeHandler {
    /// `stretch` slows the audio down only where the output is slow motion (duration × factor); in
    /// smooth mode, and without interpolation, the duration is kept, so `stretch` is a plain copy.
    static func audioTreatment(_ plan: JobPlan) -> AudioTreatment {
        switch plan.audio {
        case .drop: return .drop
        case .copy: return .copy
        case .stretch:
            let timing = plan.outputTiming
            guard timing.kind == .factor, timing.slowMotion, timing.factor > 1 else { return .copy }
            // Slow-motion frames end at the source's video end × factor; the audio is made to end there too.
            let sourceEnd = Double(plan.video.endPts) * plan.video.timeBase.double
            return .stretch(SegmentMuxer.AudioStretch(factor: timing.factor, sourceEnd: sourceEnd))
        }
    }
}

/// Another finalizer holds the lock: retry later (transient).
struct FinalizeBusy: FaultClassifying, CustomStringConvertible {
    var description: String { "finalize already running elsewhere" }
    var isTransient: Bool { true }
}
