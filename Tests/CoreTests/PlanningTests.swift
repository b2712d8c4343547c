import Core
import XCTest

final class PlanningTests: XCTestCase {
    let tb = Rational(1, 30)

    func index(frames: Int, gop: Int) -> PacketIndex {
        let pts = (0..<frames).map(Int64.init)
        return PacketIndex(framePts: pts, keyframes: stride(from: 0, to: frames, by: gop).map { (Int64($0), Int64($0) - 1) }, endPts: Int64(frames))
    }

    func video(frames: Int) -> VideoInfo {
        VideoInfo(width: 320, height: 240, pixelFormat: "yuv420p", timeBase: tb, frameRate: Rational(30, 1), frameCount: frames,
                  startPts: 0, endPts: Int64(frames), hasAudio: true)
    }

    func testSegmentsStartAtKeyframesAndCoverEveryFrame() {
        let segments = SegmentPlanner.segments(index: index(frames: 300, gop: 30), timeBase: tb, targetSeconds: 2)
        XCTAssertEqual(segments.map(\.startPts), [0, 60, 120, 180, 240])
        XCTAssertEqual(segments.map(\.seekDts), [-1, 29, 89, 149, 209], "enter at the previous keyframe's dts: one GOP of pre-roll")
        XCTAssertEqual(segments.map(\.firstFrame), [0, 60, 120, 180, 240])
        XCTAssertEqual(segments.map(\.frameCount), [60, 60, 60, 60, 60])
        XCTAssertEqual(segments.last?.endPts, 300)
        XCTAssertEqual(segments.filter(\.isLast).count, 1)
    }

    func testChunksCloseAtLimitOrSceneCut() {
        let policy = ChunkPolicy(maxFrames: 10, maxBytes: 1 << 30, minFramesAtCut: 3)
        var cuts = [Bool](repeating: false, count: 25)
        cuts[2] = true  // too early to close (chunk would hold 2 < 3)
        cuts[7] = true
        XCTAssertEqual(ChunkCutter.boundaries(frameCount: 25, frameBytes: 1000, sceneCut: cuts, policy: policy), [0, 7, 17])
        // Byte bound: 4 MB frames under a 10 MB budget → 2 frames a chunk.
        XCTAssertEqual(ChunkCutter.boundaries(frameCount: 5, frameBytes: 4 << 20, sceneCut: [], policy: ChunkPolicy(maxFrames: 10, maxBytes: 10 << 20)),
                       [0, 2, 4])
    }

    func testPlanOrderPutsExpensiveWorkOnFewerPixels() throws {
        let up = UpscaleSpec(factor: 2)
        XCTAssertEqual(Planner.order(spec: JobSpec(source: "a", upscale: up), video: video(frames: 10)), [.upscale])
        XCTAssertEqual(Planner.order(spec: JobSpec(source: "a", interpolate: InterpolateSpec(factor: 2)), video: video(frames: 10)), [.interpolate])
        // Interpolating at low resolution is cheaper with classical models.
        let both = JobSpec(source: "a", upscale: up, interpolate: InterpolateSpec(factor: 2, model: "mci"))
        XCTAssertEqual(Planner.order(spec: both, video: video(frames: 10)), [.interpolate, .upscale])
        let plan = try Planner().plan(jobId: "j", spec: both, video: video(frames: 300), index: index(frames: 300, gop: 30))
        XCTAssertEqual(plan.hopsAfterExtract, [.interpolate, .upscale, .encode])
        XCTAssertEqual(plan.outputWidth, 640)
        XCTAssertEqual(plan.output, "reframe/j.mp4")
        XCTAssertEqual(plan.workingPixelFormat, "yuv420p")
    }

    /// Field-rate deinterlacing plans the job on the field timeline: time base halved, twice the
    /// frames and the rate, every time doubled; segments keep their source frames (halving gives them back).
    func testFieldRateDeinterlacingPlansOnTheFieldTimeline() throws {
        var interlaced = video(frames: 300)
        interlaced.fieldOrder = .bottomFieldFirst
        let idx = index(frames: 300, gop: 30)
        let plain = try Planner().plan(jobId: "f", spec: JobSpec(source: "a", deinterlace: .frame), video: interlaced, index: idx)
        let spec = JobSpec(source: "a", interpolate: InterpolateSpec(factor: 2), deinterlace: .field)
        let plan = try Planner().plan(jobId: "f", spec: spec, video: interlaced, index: idx)
        XCTAssertEqual(plan.deinterlace, .bottomFieldFirst)
        XCTAssertEqual(plan.deinterlaceAtFieldRate, true)
        XCTAssertNil(plain.deinterlaceAtFieldRate, "frame rate: plans as before")
        XCTAssertEqual(plan.video.timeBase, Rational(1, 60))
        XCTAssertEqual(plan.video.frameRate, Rational(60, 1))
        XCTAssertEqual([plan.video.frameCount, Int(plan.video.startPts), Int(plan.video.endPts)], [600, 0, 600])
        XCTAssertEqual(plan.video.durationSeconds, plain.video.durationSeconds, "same span")
        XCTAssertEqual(plan.segments.map(\.startPts), plain.segments.map { $0.startPts * 2 })
        XCTAssertEqual(plan.segments.map(\.firstFrame), plain.segments.map { $0.firstFrame * 2 })
        XCTAssertEqual(plan.segments.map(\.frameCount), plain.segments.map { $0.frameCount * 2 })
        XCTAssertEqual(plan.segments.map(\.onSourceTimeline), plain.segments, "the decoder seeks and selects in source frames")
        XCTAssertEqual(plan.outputTiming.sourceTimeBase, Rational(1, 60))
        XCTAssertEqual(plan.outputTiming.outputFrameRate(sourceRate: plan.video.frameRate), Rational(120, 1), "interpolation doubles the field rate")
        XCTAssertEqual(plan.outputTiming.expectedFrameCount(sourceFrames: 600, startPts: plan.video.startPts, endPts: plan.video.endPts), 1200)
        // Auto leaves a progressive source alone even when field rate is not asked; field forces it.
        var progressive = video(frames: 300)
        progressive.fieldOrder = .progressive
        let untouched = try Planner().plan(jobId: "p", spec: JobSpec(source: "a"), video: progressive, index: idx)
        XCTAssertNil(untouched.deinterlace)
        XCTAssertEqual(untouched.video, progressive)
        let forced = try Planner().plan(jobId: "p", spec: JobSpec(source: "a", deinterlace: .field), video: progressive, index: idx)
        XCTAssertEqual([forced.video.frameCount, forced.segments.count], [600, plain.segments.count])
    }

    func testLimitsFailAtIngestWithWhatToChange() {
        var limits = JobLimits()
        limits.maxOutputDimension = 1000
        let spec = JobSpec(source: "a", upscale: UpscaleSpec(factor: 4))
        XCTAssertThrowsError(try Planner(limits: limits).plan(jobId: "j", spec: spec, video: video(frames: 10), index: index(frames: 10, gop: 5))) {
            XCTAssertEqual(($0 as? SpecError)?.message, "output would be 1280×960; the limit is 1000 per side — lower the upscale factor")
        }
    }
}
