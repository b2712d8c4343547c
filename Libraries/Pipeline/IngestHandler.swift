import Core
import Foundation
import Logging
import Media
import Messaging
import Store

/// Ingest stage: validates a job spec, probes the source, plans the job, records it and publishes
/// one extract message per segment. A refused spec is dead-lettered with the reason and, when the
/// client chose the job id (header `x-reframe-job-id`), recorded as a failed job under that id.
public struct IngestHandler: StageHandler {
    public let stage = Stage.ingest
    public static let jobIdHeader = MessageHeader.jobId
    public init() {}

    public func process(_ delivery: BusDelivery, context: StageContext) async throws -> StageOutcome {
        let chosen = delivery.headers[Self.jobIdHeader]
        if let chosen, UUID(uuidString: chosen) == nil {
            throw PermanentFailure("header \(Self.jobIdHeader) '\(chosen)' is not a UUID")
        }
        let id = chosen?.lowercased() ?? UUID().uuidString.lowercased()
        do {
            guard let plan = try await Self.accept(id: id, specBody: delivery.body, tenant: nil, context: context) else { return StageOutcome() }
            return StageOutcome(next: Self.extractMessages(plan))
        } catch let error as SpecError {
            // The client chose the id to read the outcome under it: record why the spec was refused.
            try await context.jobs.recordRejected(id: id, specBody: delivery.body, error: error.message)
            ServiceMetrics.jobEnded(.failed)
            throw error
        }
    }

    /// What an HTTP submission created: the job's id and plan, and whether the job already existed
    /// (a retry with the same idempotency key) rather than being created now.
    public struct Submission: Sendable {
        public let id: String
        public let plan: JobPlan
        /// `running` for a new job; a replayed one's state now.
        public let state: JobState
        public let replayed: Bool
    }

    /// Creates a job from an HTTP request (`POST /v1/jobs`) through the same code as the AMQP ingest,
    /// then publishes its extract messages as the worker would. `id` is the caller's (one derived from
    /// an idempotency key) or a fresh one. Throws `SpecError` (nothing recorded: the client reads the
    /// reason in the response), `IdempotencyConflict`, or a store or bus fault.
    ///
    /// No broker redelivers an HTTP request, so the job is marked "submitting" from before its record
    /// until its last extract message is out: a retry with the same id, or `requeueStalled` on any
    /// Ingest, finishes queueing a job whose Ingest stopped in between. Publishing twice is safe: the
    /// stages drop work already done (DESIGN.md §6).
    public static func submit(specBody: [UInt8], tenant: String, id chosen: String? = nil, context: StageContext) async throws -> Submission {
        let jobs = context.jobs
        let id = chosen?.lowercased() ?? UUID().uuidString.lowercased()
        if chosen != nil, let existing = try await jobs.job(id) {
            let spec = try JobSpec.parse(Data(specBody))
            guard existing.tenant == tenant, existing.spec == spec, let plan = existing.plan else { throw IdempotencyConflict(id: id) }
            if try await jobs.isSubmitting(id) { try await queue(id, plan, context: context, why: "a retried submission") }
            return Submission(id: id, plan: plan, state: existing.state, replayed: true)
        }
        try await jobs.noteSubmitting(id)
        let plan: JobPlan
        do {
            guard let accepted = try await accept(id: id, specBody: specBody, tenant: tenant, context: context) else {
                throw StoreError.corrupt("job \(id) exists without a plan")
            }
            plan = accepted
        } catch {
            // Nothing was recorded (a refused spec) or nothing usable: no queueing to finish.
            try? await jobs.clearSubmitting(id)
            throw error
        }
        for message in extractMessages(plan) { try await context.publish(message) }
        try await jobs.clearSubmitting(id)
        return Submission(id: id, plan: plan, state: .running, replayed: false)
    }

    /// Publishes the extract messages of HTTP submissions marked at least `age` seconds ago and never
    /// finished (their Ingest stopped between recording and queueing them); returns their ids.
    @discardableResult
    public static func requeueStalled(olderThan age: Double, context: StageContext) async throws -> [String] {
        var requeued: [String] = []
        for id in try await context.jobs.stalledSubmissions(olderThan: age) {
            guard let record = try await context.jobs.job(id), record.state == .running, let plan = record.plan else {
                // Refused, cancelled or gone meanwhile: nothing to queue.
                try await context.jobs.clearSubmitting(id)
                continue
            }
            try await queue(id, plan, context: context, why: "its submission stopped before its work was queued")
            requeued.append(id)
        }
        return requeued
    }

    private static func queue(_ id: String, _ plan: JobPlan, context: StageContext, why: String) async throws {
        context.logger.warning("queueing the job's extract messages again: \(why)", metadata: ["job": "\(id)", "segments": "\(plan.segments.count)"])
        for message in extractMessages(plan) { try await context.publish(message) }
        try await context.jobs.clearSubmitting(id)
    }

    /// Validates, plans and records job `id` (owned by `tenant`, nil for AMQP submissions) and returns
    /// its plan, whose extract messages the caller publishes. A job already recorded (a redelivered
    /// spec) returns its stored plan, or nil when it has none. A spec or source that cannot be used
    /// throws `SpecError` with what to change, its paths relative to the media root.
    static func accept(id: String, specBody: [UInt8], tenant: String?, context: StageContext) async throws -> JobPlan? {
        let jobs = context.jobs
        if let existing = try await jobs.job(id) { return existing.plan }
        do {
            let (spec, plan) = try await plan(id: id, specBody: specBody, context: context)
            try await jobs.createJob(id: id, spec: spec, plan: plan, tenant: tenant)
            // The job record is both Ingest's output and its mark: one write, so both points are here.
            CrashPoint.strike(.afterStore, .ingest, logger: context.logger)
            CrashPoint.strike(.afterMark, .ingest, logger: context.logger)
            context.logger.info("job accepted", metadata: [
                "job": "\(id)", "segments": "\(plan.segments.count)", "hops": "\(plan.hops.map(\.rawValue).joined(separator: "→"))",
                "tenant": "\(tenant ?? "-")",
            ])
            return plan
        } catch let error as MediaError {
            let text: String
            if case .unusableSource(let words) = error { text = words } else { text = "cannot read source: \(error)" }
            throw SpecError(MediaPath.relative(text, under: context.mediaRoot))
        }
    }

    /// Validates the spec and the source and returns both with the plan; throws `SpecError`/`MediaError` with what to change.
    public static func plan(id: String, specBody: [UInt8], context: StageContext) async throws -> (JobSpec, JobPlan) {
        let spec = try JobSpec.parse(Data(specBody))
        guard ChunkEncoder.isAvailable(spec.encode.codec) else {
            throw SpecError("codec '\(spec.encode.codec)' is not available in this FFmpeg build; use another codec")
        }
        let source = try MediaPath.resolve(spec.source, under: context.mediaRoot, field: "source")
        if let kind = MediaPath.nonRegularKind(source) { throw SpecError("source '\(spec.source)' is \(kind), not a video file") }
        guard FileManager.default.isReadableFile(atPath: source) else { throw SpecError("source '\(spec.source)' does not exist or is not readable") }
        if let size = (try? FileManager.default.attributesOfItem(atPath: source))?[.size] as? Int, size == 0 {
            throw SpecError("source '\(spec.source)' is empty (0 bytes); was it copied completely?")
        }
        if let output = spec.output {
            let path = try MediaPath.resolve(output, under: context.mediaRoot, field: "output")
            if let kind = MediaPath.nonRegularKind(path) { throw SpecError("output '\(output)' is \(kind); name a file to write") }
            guard path != source else { throw SpecError("output '\(output)' is the source; name another file") }
        }
        let probe = try await BlockingWork.run { try MediaProbe.probe(path: source) }
        let planner = Planner(limits: context.settings.limits, segmentSeconds: context.settings.segmentSeconds,
                              chunkPolicy: context.settings.chunkPolicy)
        // Planned once before any decoding, so a source outside the limits is refused unread.
        let plan = try planner.plan(jobId: id, spec: spec, video: probe.video, index: probe.index)
        guard spec.deinterlace != .off, probe.video.fieldOrder?.isInterlaced != true else { return (spec, plan) }
        guard let judged = await detectInterlacing(probe.video, source: source, jobId: id, context: context) else { return (spec, plan) }
        return (spec, try planner.plan(jobId: id, spec: spec, video: judged, index: probe.index))
    }

    /// The source judged by a sample of its pictures (its stream does not mark it interlaced), or nil
    /// when they could not be read: the analysis only refines the plan, and extraction reports a
    /// source that does not decode.
    static func detectInterlacing(_ video: VideoInfo, source: String, jobId: String, context: StageContext) async -> VideoInfo? {
        do {
            let judged = try await BlockingWork.run { try InterlaceDetector.classify(video, path: source) }
            if let d = judged.interlaceDetection {
                let counts: Logger.Metadata = [
                    "job": "\(jobId)", "frames": "\(d.frames)", "tff": "\(d.topFieldFirst)", "bff": "\(d.bottomFieldFirst)",
                    "progressive": "\(d.progressive)", "undetermined": "\(d.undetermined)",
                ]
                if judged.fieldOrderDetected {
                    context.logger.info("source not marked interlaced, but its pictures are: field order detected",
                                        metadata: counts.merging(["field_order": "\(judged.fieldOrder?.rawValue ?? "")"]) { $1 })
                } else {
                    context.logger.debug("interlace check found no clear interlacing", metadata: counts)
                }
            }
            return judged
        } catch {
            context.logger.warning("interlace check could not read the source; planned as its stream says",
                                   metadata: ["job": "\(jobId)", "error": "\(MediaPath.relative("\(error)", under: context.mediaRoot))"])
            return nil
        }
    }

    static func extractMessages(_ plan: JobPlan) -> [StageMessage] {
        plan.segments.map { StageMessage(jobId: plan.jobId, stage: .extract, segment: $0.index, next: plan.hopsAfterExtract) }
    }
}

/// An idempotency key used again for a different request (another spec): the job it names is not
/// this request's.
public struct IdempotencyConflict: Error, CustomStringConvertible, Sendable {
    public let id: String
    public var description: String { "this Idempotency-Key already created job \(id) from another spec; use a new key for a new job" }
}
