import Core
import Foundation
import Logging
import Media
@testable import Pipeline
import TestSupport
import XCTest

/// `"deinterlace": "field"` through the whole pipeline: a 25i source becomes 50p — twice the frames
/// over the same duration, each field a picture of its own moment, equal to FFmpeg's bwdif
/// send_field — and interpolation then works on the field timeline. Ingest finds unmarked
/// interlaced sources by their pictures.
final class FieldRateDeinterlaceTests: XCTestCase {
    var dir = ""
    let logger = Logger(label: "test")

    override func setUpWithError() throws { dir = try MediaChecks.temporaryDirectory("fields") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// Small segments and chunks so the clip crosses segment and chunk boundaries.
    var settings: StageSettings {
        var s = StageSettings()
        s.segmentSeconds = 0.5
        s.chunkPolicy = ChunkPolicy(maxFrames: 7, maxBytes: 64 << 20, minFramesAtCut: 3)
        return s
    }

    static let sourceFrames = 50

    /// 2 s of a moving pattern shot at 50 fps, woven into 50 interlaced PAL frames (720×576 25i,
    /// top field first; smaller pictures of this pattern are all fine lines, which the comb metric
    /// cannot tell from combing), with a tone. `marked`: coded interlaced (the stream says TFF); else coded as
    /// progressive frames, as many archive transfers are.
    func source(_ name: String, marked: Bool = true) throws -> String {
        let coding = marked ? ["-flags", "+ildct+ilme", "-top", "1"] : []
        try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=720x576:rate=50:duration=2",
                                                "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
                                                "-vf", "tinterlace=mode=interleave_top", "-c:v", "libx264", "-preset", "veryfast", "-crf", "12",
                                                "-g", "12"] + coding + ["-c:a", "aac", "\(dir)/\(name)"])
        return "\(dir)/\(name)"
    }

    func testFieldRateMakes50pFrom25iEqualToFFmpegsBwdif() async throws {
        let input = try source("in.mp4")
        let pipeline = EmbeddedPipeline(mediaRoot: dir, settings: settings, logger: logger)
        let spec = JobSpec(source: "in.mp4", output: "fields.mp4", encode: EncodeSpec(crf: 0, preset: "ultrafast"), deinterlace: .field)
        let (_, plan) = try await IngestHandler.plan(id: "fields", specBody: Array(try JSONEncoder().encode(spec)), context: pipeline.context)
        XCTAssertEqual(plan.deinterlace, .topFieldFirst)
        XCTAssertGreaterThan(plan.segments.count, 2, "several segments")
        _ = try await pipeline.run(spec: spec, interval: 0.05)
        let source = try MediaChecks.summary(input), out = try MediaChecks.summary("\(dir)/fields.mp4")
        XCTAssertEqual(out.frameCount, 2 * Self.sourceFrames, "one frame per field")
        XCTAssertEqual(out.duration, source.duration, accuracy: 1e-3, "same duration")
        XCTAssertEqual(Double(out.frameCount) / out.duration, 50, accuracy: 0.01, "50p from 25i")
        XCTAssertTrue(out.strictlyIncreasing)
        XCTAssertEqual(out.audioStreams, 1)
        let frameTimes = (0..<(2 * Self.sourceFrames)).map { Double($0) / 50 }
        for (a, b) in zip(out.frameTimes, frameTimes) { XCTAssertEqual(a, b, accuracy: 1e-3, "fields 1/50 s apart") }

        let reference = "\(dir)/reference.mp4"
        try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-i", input, "-vf", "bwdif=mode=send_field:parity=tff:deint=all",
                                                "-c:v", "libx264", "-crf", "0", "-preset", "ultrafast", "-an", reference])
        let (psnr, frames, referenceFrames) = try FrameComparison.worstPSNR("\(dir)/fields.mp4", from: reference)
        print("field rate vs ffmpeg bwdif send_field: worst frame \(psnr) dB over \(frames) frames")
        XCTAssertEqual(frames, referenceFrames)
        XCTAssertGreaterThan(psnr, 50, "the same pictures as FFmpeg's bwdif send_field")

        let (before, after) = (MediaChecks.combing(try MediaChecks.frames(input)), MediaChecks.combing(try MediaChecks.frames("\(dir)/fields.mp4")))
        print(String(format: "combed pixels: %.4f source, %.4f field-rate output", before, after))
        XCTAssertGreaterThan(before, 0.01, "the source is visibly combed")
        XCTAssertLessThan(after, before / 5, "no combing left")
    }

    func testFieldRateWithInterpolationKeepsCountAndDuration() async throws {
        let input = try source("in.mp4")
        let pipeline = EmbeddedPipeline(mediaRoot: dir, settings: settings, logger: logger)
        let spec = JobSpec(source: "in.mp4", output: "fields2.mp4", interpolate: InterpolateSpec(factor: 2, model: "blend"),
                           encode: EncodeSpec(preset: "veryfast"), deinterlace: .field)
        _ = try await pipeline.run(spec: spec, interval: 0.05)
        let source = try MediaChecks.summary(input), out = try MediaChecks.summary("\(dir)/fields2.mp4")
        XCTAssertEqual(out.frameCount, 4 * Self.sourceFrames, "two fields per frame, each followed by an in-between")
        XCTAssertEqual(out.duration, source.duration, accuracy: 1e-3)
        XCTAssertEqual(Double(out.frameCount) / out.duration, 100, accuracy: 0.01)
        XCTAssertTrue(out.strictlyIncreasing)
    }

    /// Ingest runs idet on a source its stream does not mark interlaced, records that the order was
    /// detected, and `auto` then deinterlaces it; `off` skips the analysis.
    func testIngestDetectsAnUnmarkedInterlacedSource() async throws {
        _ = try source("unmarked.mp4", marked: false)
        let pipeline = EmbeddedPipeline(mediaRoot: dir, settings: settings, logger: logger)
        func plan(_ mode: DeinterlaceMode?) async throws -> JobPlan {
            let spec = JobSpec(source: "unmarked.mp4", upscale: UpscaleSpec(factor: 2), deinterlace: mode)
            return try await IngestHandler.plan(id: "idet", specBody: Array(try JSONEncoder().encode(spec)), context: pipeline.context).1
        }
        let auto = try await plan(nil)
        XCTAssertEqual(auto.video.fieldOrder, .topFieldFirst)
        XCTAssertTrue(auto.video.fieldOrderDetected, "recorded as detected")
        XCTAssertEqual(auto.video.interlaceDetection?.frames, Self.sourceFrames)
        XCTAssertEqual(auto.deinterlace, .topFieldFirst, "auto deinterlaces a detected source")
        let off = try await plan(.off)
        XCTAssertNil(off.video.interlaceDetection, "no analysis when deinterlacing is off")
        XCTAssertNil(off.deinterlace)
    }
}
