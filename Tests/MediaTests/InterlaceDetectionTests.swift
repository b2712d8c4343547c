import Core
import Foundation
import Media
import TestSupport
import XCTest

/// Sources whose stream does not say they are interlaced (coded progressively from woven fields, or
/// in a container without a field flag) are found interlaced by idet on a sample at ingest, with
/// the right parity, and `auto` then deinterlaces them; progressive sources stay untouched.
final class InterlaceDetectionTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try MediaChecks.temporaryDirectory("idet") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A moving pattern shot at 50 fps and woven into 25 fps frames (`weave` of fields from two
    /// moments), then coded without any interlaced flag.
    func woven(_ name: String, top: Bool, codec: [String]) throws -> String {
        let path = "\(dir)/\(name)"
        try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=720x576:rate=50:duration=4",
                                                "-vf", "tinterlace=mode=\(top ? "interleave_top" : "interleave_bottom")"] + codec + [path])
        return path
    }

    func testWovenSourcesCodedProgressivelyAreDetectedWithTheirParity() throws {
        let x264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "12"]
        let cases: [(String, Bool, [String], FieldOrder)] = [
            ("tff.mp4", true, x264, .topFieldFirst),
            ("bff.mp4", false, x264, .bottomFieldFirst),
            ("tff-mjpeg.avi", true, ["-c:v", "mjpeg", "-q:v", "3"], .topFieldFirst),
            ("bff-asp.avi", false, ["-c:v", "mpeg4", "-q:v", "3"], .bottomFieldFirst),
        ]
        for (name, top, codec, order) in cases {
            let path = try woven(name, top: top, codec: codec)
            let probe = try MediaProbe.probe(path: path)
            XCTAssertFalse(probe.video.fieldOrder?.isInterlaced ?? false, "\(name): the stream does not mark it interlaced")
            let judged = try InterlaceDetector.classify(probe.video, path: path)
            let d = try XCTUnwrap(judged.interlaceDetection)
            print("\(name): idet over \(d.frames) frames: TFF \(d.topFieldFirst) BFF \(d.bottomFieldFirst) progressive \(d.progressive) undetermined \(d.undetermined)")
            XCTAssertEqual(d.frames, 100, "\(name): the whole 4 s clip (under the 200-frame sample)")
            XCTAssertEqual(judged.fieldOrder, order, "\(name): parity found")
            XCTAssertTrue(judged.fieldOrderDetected, "\(name): recorded as detected, not marked")
        }
    }

    func testProgressiveSourcesAreNotDetectedInterlaced() throws {
        for (name, pattern) in [("p.mp4", "testsrc"), ("p2.mp4", "testsrc2")] {
            let path = "\(dir)/\(name)"
            try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "\(pattern)=size=720x576:rate=25:duration=4",
                                                    "-c:v", "libx264", "-preset", "veryfast", path])
            let probe = try MediaProbe.probe(path: path)
            let judged = try InterlaceDetector.classify(probe.video, path: path)
            let d = try XCTUnwrap(judged.interlaceDetection)
            print("\(name) (\(pattern)): TFF \(d.topFieldFirst) BFF \(d.bottomFieldFirst) progressive \(d.progressive) undetermined \(d.undetermined)")
            XCTAssertFalse(judged.fieldOrder?.isInterlaced ?? false, "\(name): progressive pictures are not called interlaced")
            XCTAssertFalse(judged.fieldOrderDetected)
            XCTAssertNil(try Planner().plan(jobId: "p", spec: JobSpec(source: name), video: judged, index: probe.index).deinterlace,
                         "\(name): auto leaves it alone")
        }
    }

    func testTheSampleIsBounded() throws {
        let path = try woven("sample.mp4", top: true, codec: ["-c:v", "libx264", "-preset", "ultrafast"])
        XCTAssertEqual(try InterlaceDetector.detect(path: path, sampleFrames: 30).frames, 30)
        XCTAssertEqual(InterlaceDetector.sampleFrames(width: 720, height: 576), 200, "SD: 8 s of PAL")
        XCTAssertEqual(InterlaceDetector.sampleFrames(width: 1440, height: 1080), 53)
        XCTAssertEqual(InterlaceDetector.sampleFrames(width: 3840, height: 2160), 50, "never fewer than 2 s of 25i")
    }

    /// `auto` deinterlaces a detected source: its combing goes, measured as DeinterlaceTests does.
    func testAutoDeinterlacesADetectedSource() throws {
        let path = try woven("tff.mp4", top: true, codec: ["-c:v", "libx264", "-preset", "veryfast", "-crf", "12"])
        let probe = try MediaProbe.probe(path: path)
        let judged = try InterlaceDetector.classify(probe.video, path: path)
        let plan = try Planner().plan(jobId: "j", spec: JobSpec(source: "tff.mp4", upscale: UpscaleSpec(factor: 2)), video: judged, index: probe.index)
        XCTAssertEqual(plan.deinterlace, .topFieldFirst, "auto deinterlaces what the pictures show interlaced")
        XCTAssertNil(try Planner().plan(jobId: "j", spec: JobSpec(source: "tff.mp4", upscale: UpscaleSpec(factor: 2)),
                                        video: probe.video, index: probe.index).deinterlace, "without the sample it would not")
        var raw: [VideoFrame] = [], clean: [VideoFrame] = []
        try SegmentDecoder(path: path, workingPixelFormat: "yuv420p").decodeAll { raw.append($0) }
        let segments = plan.segments
        XCTAssertGreaterThan(segments.count, 0)
        for segment in segments {
            try SegmentDecoder(path: path, workingPixelFormat: plan.workingPixelFormat, deinterlace: plan.deinterlace)
                .decode(segment: segment, lookahead: false) { clean.append($0) }
        }
        XCTAssertEqual(clean.count, raw.count)
        let (before, after) = (MediaChecks.combing(raw), MediaChecks.combing(clean))
        print(String(format: "combed pixels: %.4f woven (detected), %.4f deinterlaced", before, after))
        XCTAssertGreaterThan(before, 0.01, "the woven source is visibly combed")
        XCTAssertLessThan(after, before / 5, "bwdif removes the combing")
    }
}
