import Core
import Foundation
import Logging
import Media
import Messaging
@testable import Pipeline
import Store
import TestSupport
import XCTest

/// The live progress display (issue 12 item 4): per-stage bars, fps over a sliding window, ETA from
/// the slowest stage, the plain form for logs, and frames in progress inside a chunk.
final class LiveProgressTests: XCTestCase {
    /// A running job of 60 source frames, ×2 interpolation: 120 output frames.
    func snapshot(_ frames: [(Stage, done: Int, inProgress: Int)], state: JobState = .running) -> JobProgress {
        JobProgress(state: state, error: nil, notes: [], segmentsTotal: 1, segmentsDone: 1, chunksTotal: 3, sourceFrames: 60,
                    expectedOutputFrames: 120,
                    stages: frames.map { JobProgress.StageCount(stage: $0.0, chunksDone: 0, framesDone: $0.done, framesInProgress: $0.inProgress) },
                    failedChunks: [])
    }

    func testFpsIsOverTheLastSecondsNotSinceTheStart() {
        var rates = ProgressRates(window: 8)
        XCTAssertNil(rates.fps(.upscale), "no rate from nothing")
        rates.observe(snapshot([(.extract, 60, 0), (.upscale, 0, 0)]), at: 0)
        XCTAssertNil(rates.fps(.upscale), "no rate from one snapshot")
        // 10 s at 1 frame/s, then 10 s at 4 frames/s.
        var frames = 0
        for t in 1...20 {
            frames += t <= 10 ? 1 : 4
            rates.observe(snapshot([(.extract, 60, 0), (.upscale, 0, frames)]), at: Double(t))
        }
        XCTAssertEqual(rates.fps(.upscale) ?? 0, 4, accuracy: 1e-9, "the last 8 s ran at 4 fps (since the start: \(Double(frames) / 20))")
        XCTAssertEqual(rates.fps(.extract), 0, "a finished stage makes no frames")
        XCTAssertEqual(rates.samples.count, 9, "snapshots older than the window are dropped but one")
    }

    func testEtaComesFromTheSlowestStageWithWorkLeft() {
        var rates = ProgressRates(window: 8)
        rates.observe(snapshot([(.extract, 60, 0), (.upscale, 10, 0), (.interpolate, 0, 0), (.encode, 0, 0)]), at: 0)
        // Upscale 2 fps (40 left: 20 s), interpolate 6 output fps (90 left: 15 s), encode waits for input.
        let p = snapshot([(.extract, 60, 0), (.upscale, 14, 6), (.interpolate, 24, 6), (.encode, 0, 0)])
        rates.observe(p, at: 5)
        let left = rates.secondsLeft(p)
        XCTAssertEqual(left[.extract], 0)
        XCTAssertEqual(left[.upscale] ?? -1, 20, accuracy: 1e-9)
        XCTAssertEqual(left[.interpolate] ?? -1, 20, accuracy: 1e-9, "it cannot end before its input (15 s at its own rate)")
        XCTAssertEqual(left[.encode] ?? -1, 20, accuracy: 1e-9, "a stage waiting for input keeps pace with the stages before it")
        XCTAssertEqual(rates.secondsLeft(job: p) ?? -1, 20, accuracy: 1e-9)

        // A slower stage downstream sets the time: encode at 1 fps with 110 frames left.
        var slow = ProgressRates(window: 8)
        slow.observe(snapshot([(.extract, 60, 0), (.upscale, 60, 0), (.interpolate, 100, 0), (.encode, 5, 0)]), at: 0)
        slow.observe(snapshot([(.extract, 60, 0), (.upscale, 60, 0), (.interpolate, 110, 0), (.encode, 10, 0)]), at: 5)
        let q = snapshot([(.extract, 60, 0), (.upscale, 60, 0), (.interpolate, 110, 0), (.encode, 10, 0)])
        XCTAssertEqual(slow.secondsLeft(job: q) ?? -1, 110, accuracy: 1e-9)
    }

    func testNoEtaWhileTheFirstStageWithWorkLeftIsNotMoving() {
        var rates = ProgressRates()
        rates.observe(snapshot([(.extract, 60, 0), (.upscale, 0, 0)]), at: 0)
        rates.observe(snapshot([(.extract, 60, 0), (.upscale, 0, 0)]), at: 1)
        let p = snapshot([(.extract, 60, 0), (.upscale, 0, 0)])
        XCTAssertNil(rates.secondsLeft(job: p))
        XCTAssertTrue(ProgressLines.plain(p, rates: rates).hasSuffix("ETA --:--"), ProgressLines.plain(p, rates: rates))
    }

    func testTerminalShowsABarPerStageWithFramesFpsAndEta() {
        var rates = ProgressRates()
        rates.observe(snapshot([(.extract, 60, 0), (.upscale, 0, 0), (.encode, 0, 0)]), at: 0)
        let p = snapshot([(.extract, 60, 0), (.upscale, 0, 7), (.encode, 0, 0)])
        rates.observe(p, at: 2)
        let lines = ProgressLines.terminal(p, rates: rates, barWidth: 10)
        XCTAssertEqual(lines, [
            "running  37%  ETA 0:16",
            "  extract     [==========] 60/60 frames             done",
            "  upscale     [=>        ]  7/60 frames    3.5 fps  ETA 0:16",
            "  encode      [          ]  0/60 frames    0.0 fps  ETA 0:16",
        ])
    }

    func testPlainLineForLogs() {
        var rates = ProgressRates()
        rates.observe(snapshot([(.extract, 30, 0), (.interpolate, 0, 0)]), at: 0)
        let p = snapshot([(.extract, 60, 0), (.interpolate, 24, 6)])
        rates.observe(p, at: 10)
        XCTAssertEqual(ProgressLines.plain(p, rates: rates), "running 62% | extract 60/60 | interpolate 30/120 3.0 fps | ETA 0:30")
        XCTAssertEqual(ProgressLines.plain(snapshot([(.extract, 60, 0), (.interpolate, 120, 0)], state: .done), rates: rates),
                       "done 100% | extract 60/60 | interpolate 120/120 | ETA 0:00")
        XCTAssertEqual(ProgressLines.eta(3725), "1:02:05")
        XCTAssertEqual(ProgressLines.eta(nil), "--:--")
    }

    /// Frames in progress show beside the exact counts and never add to them: once the chunk is
    /// marked done its progress field is ignored, whether or not it was deleted yet.
    func testFramesInProgressAreAHintThatDoneStatesOverride() async throws {
        let dir = try MediaChecks.temporaryDirectory("live-progress")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = SyntheticClip.Options()
        o.frames = 20
        try SyntheticClip.write(path: "\(dir)/in.mp4", options: o)
        let jobs = JobStore(kv: InMemoryStore())
        let context = StageContext(bus: InMemoryBus(), jobs: jobs, mediaRoot: dir, logger: Logger(label: "t"))
        let id = UUID().uuidString.lowercased()
        let spec = JobSpec(source: "in.mp4", upscale: UpscaleSpec(factor: 2))
        let (_, plan) = try await IngestHandler.plan(id: id, specBody: Array(try JSONEncoder().encode(spec)), context: context)
        try await jobs.createJob(id: id, spec: spec, plan: plan)

        let field = Keys.chunkField(0, .upscale)
        try await jobs.setFramesInProgress(id, field: field, frames: 7)
        var loaded = try await JobProgress.load(jobId: id, jobs: jobs)
        var p = try XCTUnwrap(loaded)
        var upscale = try XCTUnwrap(p.stages.first { $0.stage == .upscale })
        XCTAssertEqual([upscale.framesDone, upscale.framesInProgress, upscale.framesLive], [0, 7, 7])

        try await jobs.markChunk(id, field: field, ChunkState(state: .done, frames: 20))
        loaded = try await JobProgress.load(jobId: id, jobs: jobs)
        p = try XCTUnwrap(loaded)
        upscale = try XCTUnwrap(p.stages.first { $0.stage == .upscale })
        XCTAssertEqual([upscale.framesDone, upscale.framesInProgress], [20, 0], "the done state wins over a progress field not yet deleted")

        try await jobs.clearFramesInProgress(id, field: field)
        let left = try await jobs.framesInProgress(id)
        XCTAssertEqual(left, [:])
    }

    /// The reporter publishes the frames a body records while it runs, and removes them after it.
    func testReporterPublishesWhileTheChunkRunsAndClearsAfter() async throws {
        let jobs = JobStore(kv: InMemoryStore())
        let field = Keys.chunkField(48, .upscale)
        var seen: [String: Int] = [:]
        let frames = try await InChunkProgress.reporting(jobId: "j", field: field, jobs: jobs) { progress in
            progress.record(framesDone: 3)
            progress.record(framesDone: 2)  // never backwards
            try await Task.sleep(nanoseconds: UInt64(InChunkProgress.interval * 3 * 1e9))
            seen = try await jobs.framesInProgress("j")
            return progress.framesDone
        }
        XCTAssertEqual(frames, 3)
        XCTAssertEqual(seen, [field: 3])
        let after = try await jobs.framesInProgress("j")
        XCTAssertEqual(after, [:], "the field is gone once the chunk's attempt ends")

        struct Boom: Error {}
        do {
            _ = try await InChunkProgress.reporting(jobId: "j", field: field, jobs: jobs) { progress -> Int in
                progress.record(framesDone: 5)
                try await Task.sleep(nanoseconds: UInt64(InChunkProgress.interval * 2 * 1e9))
                throw Boom()
            }
            XCTFail("the body's error comes through")
        } catch is Boom {}
        let afterFailure = try await jobs.framesInProgress("j")
        XCTAssertEqual(afterFailure, [:], "a failed attempt leaves no progress behind (its redelivery starts from zero)")
    }
}
