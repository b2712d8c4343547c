import Core
import Foundation
import Pipeline
import Store

/// How jobs look to API clients: records and progress mapped onto the document's schemas. Paths in
/// plans and errors are relative to the media root, as the client named them.
struct JobView {
    let mediaRoot: String

    func plan(_ plan: JobPlan) -> Components.Schemas.PlanSummary {
        .init(source: plan.source, output: plan.output, width: plan.video.width, height: plan.video.height,
              outputWidth: plan.outputWidth, outputHeight: plan.outputHeight, sourceFrames: plan.video.frameCount,
              expectedOutputFrames: plan.outputTiming.expectedFrameCount(sourceFrames: plan.video.frameCount, startPts: plan.video.startPts,
                                                                         endPts: plan.video.endPts),
              segments: plan.segments.count, stages: plan.hopsAfterExtract.map(\.rawValue))
    }

    func state(_ state: JobState) -> Components.Schemas.JobState {
        Components.Schemas.JobState(rawValue: state.rawValue) ?? .failed
    }

    func text(_ message: String?) -> String? { message.map { MediaPath.relative($0, under: mediaRoot) } }

    /// Rates are frames since the job was created (finished chunks' and those inside running chunks)
    /// over the time it has run (to its last update once it has ended); the ETA is the slowest
    /// stage's remaining frames at its rate.
    func job(_ record: JobRecord, progress: JobProgress, now: Date = Date()) -> Components.Schemas.Job {
        let end = record.state.isFinal ? (record.updated ?? now) : now
        let seconds = record.created.map { max(end.timeIntervalSince($0), 0.001) }
        let stages = progress.stages.map { s -> Components.Schemas.StageProgress in
            .init(stage: s.stage.rawValue, chunksDone: s.chunksDone, framesDone: s.framesDone, framesInProgress: s.framesInProgress,
                  framesTotal: progress.expectedFrames(s.stage), fps: seconds.map { Double(s.framesLive) / $0 })
        }
        var eta: Double?
        if record.state == .done { eta = 0 } else if !record.state.isFinal, !stages.isEmpty {
            let remaining = stages.map { s -> Double? in
                guard let fps = s.fps, fps > 0 else { return nil }
                return Double(max(s.framesTotal - s.framesDone - (s.framesInProgress ?? 0), 0)) / fps
            }
            if remaining.allSatisfy({ $0 != nil }) { eta = remaining.compactMap { $0 }.max() }
        }
        return .init(
            id: record.id, state: state(record.state), error: text(record.error), created: record.created, updated: record.updated,
            plan: record.plan.map(plan), fraction: progress.fraction, segmentsDone: progress.segmentsDone, chunksTotal: progress.chunksTotal,
            fps: stages.last?.fps, etaSeconds: eta, stages: stages,
            failedChunks: progress.failedChunks.map { .init(chunk: $0.field, error: text($0.error) ?? "") },
            notes: progress.notes)
    }

    func summary(_ record: JobRecord) -> Components.Schemas.JobSummary {
        .init(id: record.id, state: state(record.state), created: record.created, source: record.plan?.source ?? record.spec?.source,
              output: record.plan?.output, error: text(record.error))
    }
}
