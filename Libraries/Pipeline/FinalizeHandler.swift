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
        // Several encoders may have announced the end; only the first finalize does the work.
        if job.state.isFinal { return try await Self.alreadyEnded(job.state, jobId: message.jobId, jobs: jobs) }
        let owner = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
        let lease = context.settings.finalizeLeaseSeconds
        guard try await jobs.acquireFinalizeLock(jobId: message.jobId, owner: owner, ttl: lease) else {
            // Another finalizer is at work; if it dies, its lease lapses and this redelivered message takes over.
            if let state = try await jobs.job(message.jobId)?.state, state.isFinal { return try await Self.alreadyEnded(state, jobId: message.jobId, jobs: jobs) }
            throw FinalizeBusy()
        }
        // A finalizer that finished between the first look and the lock left the job done: writing
        // the output again would replace a file users may already be reading.
        if let state = try await jobs.job(message.jobId)?.state, state.isFinal {
            try await jobs.releaseFinalizeLock(jobId: message.jobId)
            return try await Self.alreadyEnded(state, jobId: message.jobId, jobs: jobs)
        }
        let work: StageWork
        do {
            work = try await Self.renewingLease(jobId: message.jobId, lease: lease, jobs: jobs) {
                try await finalize(plan: plan, context: context)
            }
        } catch {
            try? await jobs.releaseFinalizeLock(jobId: message.jobId)
            throw error
        }
        CrashPoint.strike(.afterStore, stage, logger: context.logger)
        try await jobs.markFinalized(message.jobId, run: owner)
        // Once per job: a redelivery after this point finds the job ended and does no work.
        ServiceMetrics.jobEnded(.done)
        CrashPoint.strike(.afterMark, stage, logger: context.logger)
        // The job's frames and lock go before the message is acked (not after, as other stages
        // delete their input): a finalizer killed in between leaves the message, whose redelivery
        // finishes the clean-up, so no key of the job outlives it until its TTL.
        try await Self.cleanUp(jobId: message.jobId, jobs: jobs)
        return StageOutcome(work: work)
    }

    private static func cleanUp(jobId: String, jobs: JobStore) async throws {
        try await jobs.purgeFrames(jobId: jobId)
        try await jobs.releaseFinalizeLock(jobId: jobId)
    }

    /// A finalize message for a job already at its end does no work, but a finalizer that died after
    /// marking the job done left its frames (and its lock) behind: those go now, before the ack.
    private static func alreadyEnded(_ state: JobState, jobId: String, jobs: JobStore) async throws -> StageOutcome {
        if state == .done { try await cleanUp(jobId: jobId, jobs: jobs) }
        return StageOutcome()
    }

    /// Runs `work` while renewing the finalize lock every third of its lease: a live finalizer keeps
    /// it however long muxing takes, a dead one's lapses within one lease.
    private static func renewingLease<T>(jobId: String, lease: Int, jobs: JobStore, _ work: () async throws -> T) async throws -> T {
        let renewal = Task {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(lease) * 1_000_000_000 / 3)
                if Task.isCancelled { return }
                try? await jobs.renewFinalizeLock(jobId: jobId, ttl: lease)
            }
        }
        defer { renewal.cancel() }
        return try await work()
    }

    /// Writes the output; returns its frames and size.
    private func finalize(plan: JobPlan, context: StageContext) async throws -> StageWork {
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
        let report = try await BlockingWork.run { try muxer.finish(expectedVideoFrames: encoded) }
        if report.stretchedAudioStreams > 0, case .stretch(let s) = audio {
            context.logger.info("audio time-stretched", metadata: ["streams": "\(report.stretchedAudioStreams)", "factor": "\(s.factor)"])
        }
        // Written before the job is marked done, so a done job always shows its notes.
        if !report.notes.isEmpty { try await jobs.setNotes(plan.jobId, report.notes) }
        for note in report.notes { context.logger.info("output note", metadata: ["job": "\(plan.jobId)", "note": "\(note)"]) }
        context.logger.info("job done", metadata: ["job": "\(plan.jobId)", "output": "\(plan.output)", "frames": "\(encoded)"])
        let size = (try? FileManager.default.attributesOfItem(atPath: output))?[.size] as? Int ?? 0
        return StageWork(frames: encoded, bytes: Int64(size))
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
    var countsAsAttempt: Bool { false }
}
