import Core
import Foundation
import Media
import TestSupport
import XCTest

/// Segment-parallel decode must equal one straight decode, frame for frame and byte for byte, in
/// every container archives come in — open GOPs, B-frames, packets without timestamps and all.
final class SegmentExactnessTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try MediaChecks.temporaryDirectory("segments") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A 4 s clip written by the ffmpeg CLI (libav's own muxers and encoders): moving test pattern, 12-frame GOPs.
    func clip(_ name: String, video: [String], audio: [String] = ["-c:a", "aac"], size: String = "320x180", rate: Int = 25,
              extra: [String] = []) throws -> String {
        let path = "\(dir)/\(name)"
        try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=\(size):rate=\(rate):duration=4",
                                                "-f", "lavfi", "-i", "sine=frequency=440:duration=4"] + video + audio + extra + [path])
        return path
    }

    /// Decodes every segment with a fresh decoder (as extractors do) and compares with the straight decode.
    /// `fieldRate`: deinterlaced one frame per field, segments on the field timeline (as a field-rate
    /// plan states them); the lookahead frame is checked too (the next segment's first field).
    @discardableResult
    func assertSegmentsEqualStraightDecode(_ path: String, targetSeconds: Double = 0.5, deinterlace: FieldOrder? = nil, fieldRate: Bool = false,
                                           file: StaticString = #filePath, line: UInt = #line) throws -> [VideoFrame] {
        let probe = try MediaProbe.probe(path: path)
        var segments = SegmentPlanner.segments(index: probe.index, timeBase: probe.video.timeBase, targetSeconds: targetSeconds)
        if fieldRate { segments = segments.map(\.onFieldTimeline) }
        XCTAssertGreaterThan(segments.count, 2, "\(path): several segments", file: file, line: line)
        var straight: [VideoFrame] = []
        try SegmentDecoder(path: path, workingPixelFormat: "yuv420p", deinterlace: deinterlace, fieldRate: fieldRate).decodeAll { straight.append($0) }
        XCTAssertEqual(straight.count, probe.video.frameCount * (fieldRate ? 2 : 1), "\(path): straight decode vs packet index", file: file, line: line)
        var seen = 0
        for segment in segments {
            var frames: [VideoFrame] = []
            let decoder = try SegmentDecoder(path: path, workingPixelFormat: "yuv420p", deinterlace: deinterlace, fieldRate: fieldRate)
            try decoder.decode(segment: segment, lookahead: fieldRate && !segment.isLast) { frames.append($0) }
            if fieldRate && !segment.isLast, let lookahead = frames.popLast() {
                let next = straight[seen + frames.count]
                XCTAssertEqual(lookahead.pts, next.pts, "\(path) segment \(segment.index): lookahead is the next segment's first field", file: file, line: line)
                XCTAssertTrue(lookahead.data == next.data, "\(path) segment \(segment.index): lookahead pixels", file: file, line: line)
            }
            XCTAssertEqual(decoder.entriesMissed, [], "\(path): the pre-roll seek entered every segment (no decode from the start)",
                           file: file, line: line)
            let expected = Array(straight.dropFirst(seen).prefix(frames.count))
            XCTAssertEqual(frames.count, segment.frameCount, "\(path) segment \(segment.index): frame count", file: file, line: line)
            XCTAssertEqual(frames.map(\.pts), expected.map(\.pts), "\(path) segment \(segment.index): pts", file: file, line: line)
            let differing = zip(frames, expected).filter { $0.data != $1.data }.map(\.0.pts)
            XCTAssertEqual(differing, [], "\(path) segment \(segment.index): frames whose pixels differ from the straight decode",
                           file: file, line: line)
            seen += frames.count
        }
        XCTAssertEqual(seen, straight.count, "\(path): the segments cover every frame once", file: file, line: line)
        return straight
    }

    func testMPEG2ProgramStreamWithOpenGOPsAtAnOddSize() throws {
        // The archive case: 720×405 MPEG-2 PS, 12-frame open GOPs with B-frames, packets without pts.
        try assertSegmentsEqualStraightDecode(try clip("ps.mpg", video: ["-c:v", "mpeg2video", "-g", "12", "-bf", "2", "-q:v", "4"],
                                                       audio: ["-c:a", "mp2"], size: "720x405", extra: ["-f", "vob"]))
    }

    func testMPEG2TransportStream() throws {
        try assertSegmentsEqualStraightDecode(try clip("ts.ts", video: ["-c:v", "mpeg2video", "-g", "12", "-bf", "2", "-q:v", "4"],
                                                       audio: ["-c:a", "mp2"]))
    }

    func testInterlacedMPEG2BothFieldOrdersAlsoDeinterlaced() throws {
        for (name, top, order) in [("tff.mpg", "1", FieldOrder.topFieldFirst), ("bff.mpg", "0", .bottomFieldFirst)] {
            let path = try clip(name, video: ["-c:v", "mpeg2video", "-g", "12", "-bf", "2", "-q:v", "4", "-flags", "+ilme+ildct", "-top", top],
                                audio: ["-c:a", "mp2"], size: "720x576", extra: ["-f", "vob"])
            XCTAssertEqual(try MediaProbe.probe(path: path).video.fieldOrder, order, "\(name): field order from the stream")
            try assertSegmentsEqualStraightDecode(path)
            // bwdif reads each frame's neighbours: segments feed it the frames either side.
            try assertSegmentsEqualStraightDecode(path, deinterlace: order)
        }
        let progressive = try clip("p.mpg", video: ["-c:v", "mpeg2video", "-g", "12"], audio: ["-c:a", "mp2"], extra: ["-f", "vob"])
        XCTAssertEqual(try MediaProbe.probe(path: progressive).video.fieldOrder, .progressive)
    }

    /// Field rate: two frames per source frame, at `2·pts_i` and `pts_i + pts_{i+1}` on the halved
    /// time base (the last frame's second field half the previous interval after it), and pictures
    /// equal to `ffmpeg -vf bwdif=mode=send_field` of the same file, in both field orders.
    func testFieldRateDeinterlacingSegmentsEqualStraightDecodeAndFFmpeg() throws {
        for (name, top, order) in [("tff.mpg", "1", FieldOrder.topFieldFirst), ("bff.mpg", "0", .bottomFieldFirst)] {
            let path = try clip(name, video: ["-c:v", "mpeg2video", "-g", "12", "-bf", "2", "-q:v", "4", "-flags", "+ilme+ildct", "-top", top],
                                audio: ["-c:a", "mp2"], size: "720x576", extra: ["-f", "vob"])
            let fields = try assertSegmentsEqualStraightDecode(path, deinterlace: order, fieldRate: true)
            var source: [Int64] = []
            try SegmentDecoder(path: path, workingPixelFormat: "yuv420p").decodeAll { source.append($0.pts) }
            let next = Array(source.dropFirst()) + [2 * source.last! - source[source.count - 2]]
            XCTAssertEqual(fields.map(\.pts), zip(source, next).flatMap { [2 * $0, $0 + $1] }, "\(name): field times")
            let parity = order == .topFieldFirst ? "tff" : "bff"
            let rawPath = "\(path).yuv"
            try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-i", path, "-vf", "bwdif=mode=send_field:parity=\(parity):deint=all",
                                                    "-f", "rawvideo", "-pix_fmt", "yuv420p", rawPath])
            let reference = [UInt8](try Data(contentsOf: URL(fileURLWithPath: rawPath)))
            let size = fields[0].data.count
            XCTAssertEqual(reference.count, fields.count * size, "\(name): FFmpeg made as many fields")
            let differing = fields.indices.filter { i in
                (i + 1) * size > reference.count || fields[i].data != Array(reference[(i * size)..<((i + 1) * size)])
            }
            XCTAssertEqual(differing, [], "\(name): fields whose pixels differ from FFmpeg's bwdif send_field")
        }
    }

    func testH264AndHEVCWithBFramesInMP4AndMOV() throws {
        try assertSegmentsEqualStraightDecode(try clip("h264.mp4", video: ["-c:v", "libx264", "-g", "12", "-bf", "3", "-preset", "veryfast"]))
        try assertSegmentsEqualStraightDecode(try clip("hevc.mov", video: ["-c:v", "libx265", "-g", "12", "-bf", "3", "-preset", "ultrafast",
                                                                           "-x265-params", "log-level=error:open-gop=1"]))
    }

    func testMatroskaAVIWebMFLVAnd3GP() throws {
        try assertSegmentsEqualStraightDecode(try clip("h264.mkv", video: ["-c:v", "libx264", "-g", "12", "-bf", "2"], audio: ["-c:a", "libvorbis"]))
        try assertSegmentsEqualStraightDecode(try clip("mjpeg.avi", video: ["-c:v", "mjpeg", "-q:v", "4"], audio: ["-c:a", "pcm_s16le"]))
        try assertSegmentsEqualStraightDecode(try clip("asp.avi", video: ["-c:v", "mpeg4", "-g", "12", "-bf", "2", "-q:v", "4"], audio: ["-c:a", "mp2"]))
        try assertSegmentsEqualStraightDecode(try clip("vp8.webm", video: ["-c:v", "libvpx", "-g", "12", "-b:v", "1M"], audio: ["-c:a", "libvorbis"]))
        try assertSegmentsEqualStraightDecode(try clip("vp9.webm", video: ["-c:v", "libvpx-vp9", "-g", "12", "-b:v", "1M", "-deadline", "realtime",
                                                                           "-cpu-used", "8"], audio: ["-c:a", "libopus"]))
        try assertSegmentsEqualStraightDecode(try clip("sorenson.flv", video: ["-c:v", "flv", "-g", "12", "-q:v", "4"], audio: ["-c:a", "aac", "-ar", "44100"]))
        try assertSegmentsEqualStraightDecode(try clip("h263.3gp", video: ["-c:v", "h263", "-g", "12", "-q:v", "4"], audio: ["-c:a", "aac", "-ar", "8000", "-ac", "1"],
                                                       size: "176x144"))
    }

    func testASeekThatLandsLateFallsBackToAnExactDecode() throws {
        let path = try clip("late.mpg", video: ["-c:v", "mpeg2video", "-g", "12", "-bf", "2", "-q:v", "4"], audio: ["-c:a", "mp2"],
                            extra: ["-f", "vob"])
        let probe = try MediaProbe.probe(path: path)
        var segment = SegmentPlanner.segments(index: probe.index, timeBase: probe.video.timeBase, targetSeconds: 0.5)[2]
        segment.seekDts = segment.endPts  // past the keyframe, as a bad index or a sloppy demuxer seek would land
        var straight: [VideoFrame] = [], frames: [VideoFrame] = []
        try SegmentDecoder(path: path, workingPixelFormat: "yuv420p").decodeAll { straight.append($0) }
        let decoder = try SegmentDecoder(path: path, workingPixelFormat: "yuv420p")
        try decoder.decode(segment: segment, lookahead: false) { frames.append($0) }
        XCTAssertFalse(decoder.entriesMissed.isEmpty, "the late entry is noticed")
        let expected = Array(straight[segment.firstFrame..<(segment.firstFrame + segment.frameCount)])
        XCTAssertEqual(frames.map(\.pts), expected.map(\.pts))
        XCTAssertTrue(zip(frames, expected).allSatisfy { $0.data == $1.data }, "the fallback decode is exact")
    }

    func testVariableFrameRateMP4() throws {
        var o = SyntheticClip.Options()
        o.frames = 90
        o.variableRate = true
        o.keyframeInterval = 10
        try SyntheticClip.write(path: "\(dir)/vfr.mp4", options: o)
        try assertSegmentsEqualStraightDecode("\(dir)/vfr.mp4")
    }
}

/// Deinterlacing removes combing: a moving pattern woven into interlaced frames (each frame's two
/// fields 1/50 s apart) shows combs on every moving edge; through bwdif it does not.
final class DeinterlaceTests: XCTestCase {
    func testDeinterlacedFramesShowNoCombing() throws {
        let dir = try MediaChecks.temporaryDirectory("comb")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/woven.mpg"
        try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=720x576:rate=50:duration=2",
                                                "-vf", "tinterlace=mode=interleave_top,setfield=tff", "-c:v", "mpeg2video", "-q:v", "2",
                                                "-flags", "+ilme+ildct", "-top", "1", "-f", "vob", path])
        let probe = try MediaProbe.probe(path: path)
        XCTAssertEqual(probe.video.fieldOrder, .topFieldFirst)
        let plan = try Planner().plan(jobId: "j", spec: JobSpec(source: "woven.mpg", interpolate: InterpolateSpec(factor: 2)),
                                      video: probe.video, index: probe.index)
        XCTAssertEqual(plan.deinterlace, .topFieldFirst, "auto deinterlaces what the stream marks interlaced")
        var raw: [VideoFrame] = [], clean: [VideoFrame] = []
        try SegmentDecoder(path: path, workingPixelFormat: "yuv420p").decodeAll { raw.append($0) }
        try SegmentDecoder(path: path, workingPixelFormat: "yuv420p", deinterlace: .topFieldFirst).decodeAll { clean.append($0) }
        XCTAssertEqual(raw.count, clean.count, "one frame out per frame in")
        let before = MediaChecks.combing(raw)
        let after = MediaChecks.combing(clean)
        print(String(format: "combed pixels: %.4f woven, %.4f deinterlaced", before, after))
        XCTAssertGreaterThan(before, 0.01, "the woven source is visibly combed")
        XCTAssertLessThan(after, before / 5, "bwdif removes the combing")

        // A progressive source is left alone under auto.
        let progressive = "\(dir)/p.mpg"
        try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1",
                                                "-c:v", "mpeg2video", "-f", "vob", progressive])
        let p = try MediaProbe.probe(path: progressive)
        XCTAssertNil(try Planner().plan(jobId: "p", spec: JobSpec(source: "p.mpg", interpolate: InterpolateSpec(factor: 2)),
                                        video: p.video, index: p.index).deinterlace)
    }
}
