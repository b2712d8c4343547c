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

    /// Creates a job from an HTTP request (`POST /v1/jobs`) through the same code as the AMQP ingest,
    /// then publishes its extract messages as the worker would. Throws `SpecError` (nothing recorded:
    /// the client reads the reason in the response) or a store or bus fault.
    public static func submit(specBody: [UInt8], tenant: String, context: StageContext) async throws -> (id: String, plan: JobPlan) {
        let id = UUID().uuidString.lowercased()
        guard let plan = try await accept(id: id, specBody: specBody, tenant: tenant, context: context) else {
            throw StoreError.corrupt("job \(id) exists without a plan")
        }
        for message in extractMessages(plan) { try await context.publish(message) }
        return (id, plan)
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
