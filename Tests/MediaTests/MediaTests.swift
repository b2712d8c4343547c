import Core
import Enhance
import Foundation
import Media
import TestSupport
import XCTest

final class MediaTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try MediaChecks.temporaryDirectory("media") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func makeClip(_ configure: (inout SyntheticClip.Options) -> Void = { _ in }) throws -> (String, SyntheticClip.Options) {
        var o = SyntheticClip.Options()
        o.frames = 60
        configure(&o)
        let path = "\(dir)/clip.mp4"
        try SyntheticClip.write(path: path, options: o)
        return (path, o)
    }

    func testProbeReadsThePacketIndexExactly() throws {
        let (path, o) = try makeClip()
        let probe = try MediaProbe.probe(path: path)
        XCTAssertEqual(probe.video.width, 320)
        XCTAssertEqual(probe.video.height, 240)
        XCTAssertEqual(probe.video.frameCount, 60)
        XCTAssertEqual(probe.index.keyframes.count, 2, "keyframe every 30 frames")
        XCTAssertEqual(probe.audioStreams, 1)
        // Compare in ticks of the clip's own 1/180 s clock.
        let ticks = probe.index.framePts.map { Int64((Double($0) * probe.video.timeBase.double * Double(o.fps * 6)).rounded()) }
        XCTAssertEqual(ticks, SyntheticClip.framePts(o))
        XCTAssertEqual(probe.video.durationSeconds, 2.0, accuracy: 1e-6)
    }

    func testSegmentDecodeIsFrameAccurateWithLookahead() throws {
        let (path, _) = try makeClip()
        let probe = try MediaProbe.probe(path: path)
        let segments = SegmentPlanner.segments(index: probe.index, timeBase: probe.video.timeBase, targetSeconds: 1)
        XCTAssertEqual(segments.count, 2)
        let decoder = try SegmentDecoder(path: path, workingPixelFormat: "yuv420p")
        var second: [Int64] = []
        try decoder.decode(segment: segments[1], lookahead: false) { second.append($0.pts) }
        XCTAssertEqual(second, Array(probe.index.framePts[30...]))
        var first: [Int64] = []
        try decoder.decode(segment: segments[0], lookahead: true) { first.append($0.pts) }
        XCTAssertEqual(first, Array(probe.index.framePts[0...30]), "30 own frames plus the next segment's first as lookahead")
    }

    func testEncodeJoinAndRemuxWithoutReencoding() throws {
        let (path, _) = try makeClip()
        let frames = try MediaChecks.frames(path)
        let probe = try MediaProbe.probe(path: path)
        let settings = EncoderSettings(codec: "libx264", crf: 18, preset: "veryfast", pixelFormat: "yuv420p")
        let a = try ChunkEncoder.encode(frames: Array(frames[0..<25]), settings: settings, timeBase: probe.video.timeBase,
                                        frameRate: probe.video.frameRate, sampleAspectRatio: Rational(1, 1))
        let b = try ChunkEncoder.encode(frames: Array(frames[25...]), settings: settings, timeBase: probe.video.timeBase,
                                        frameRate: probe.video.frameRate, sampleAspectRatio: Rational(1, 1))
        XCTAssertTrue(a.header.packets.first!.key && b.header.packets.first!.key, "every chunk starts with a keyframe")
        XCTAssertEqual(try EncodedSegment(serialized: try a.serialized()), a)
        let out = "\(dir)/joined.mkv"
        let muxer = try SegmentMuxer(outputPath: out, first: a.header, audioSource: path)
        try muxer.append(a)
        try muxer.append(b)
        let report = try muxer.finish()
        XCTAssertEqual(report.videoFrames, 60)
        XCTAssertEqual(report.audioStreams, 1)
        let summary = try MediaChecks.summary(out)
        XCTAssertEqual(summary.frameCount, 60)
        XCTAssertTrue(summary.strictlyIncreasing)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + ".part"))
        let decoded = try MediaChecks.frames(out)
        XCTAssertGreaterThan(MediaChecks.psnr(decoded[40].data, frames[40].data), 35)
    }

    func testEverySelectableCodecEncodesWithSpecOptions() throws {
        let frames = try (0..<4).map { try SyntheticClip.pattern(width: 64, height: 64, index: $0, pts: Int64($0)) }
        for (codec, preset) in [("libx264", "veryfast"), ("libx265", "ultrafast"), ("libsvtav1", "12")] {
            for format in ["yuv420p", "yuv420p10le"] {
                let segment = try ChunkEncoder.encode(frames: frames, settings: EncoderSettings(codec: codec, crf: 30, preset: preset, pixelFormat: format),
                                                      timeBase: Rational(1, 25), frameRate: Rational(25, 1), sampleAspectRatio: Rational(1, 1))
                XCTAssertEqual(segment.frameCount, 4, "\(codec) \(format)")
                XCTAssertTrue(segment.header.packets[0].key, "\(codec) starts with a keyframe")
            }
        }
        XCTAssertThrowsError(try ChunkEncoder.encode(frames: frames, settings: EncoderSettings(codec: "nope", crf: 1, preset: "x", pixelFormat: "yuv420p"),
                                                     timeBase: Rational(1, 25), frameRate: Rational(25, 1), sampleAspectRatio: Rational(1, 1)))
    }

    func testLanczosUpscaleAndCompressionRoundTrip() throws {
        let frame = try SyntheticClip.pattern(width: 64, height: 48, index: 3, pts: 7)
        let up = try LanczosUpscaler(factor: 3, width: 64, height: 48, pixelFormat: "yuv420p").upscale(frame)
        XCTAssertEqual([up.width, up.height], [192, 144])
        XCTAssertEqual(up.pts, 7)
        XCTAssertEqual(up.data.count, 192 * 144 * 3 / 2)
        let packed = try FrameCompression.compress(up.data)
        XCTAssertLessThan(packed.count, up.data.count)
        XCTAssertEqual(try FrameCompression.decompress(packed, expectedSize: up.data.count), up.data)
        XCTAssertThrowsError(try FrameCompression.decompress(packed, expectedSize: 10))
    }

    func testBlendMatchesAReferenceLoop() throws {
        let a = try SyntheticClip.pattern(width: 34, height: 18, index: 0, pts: 0)
        let b = try SyntheticClip.pattern(width: 34, height: 18, index: 9, pts: 1)
        let samples = [OutputTiming.Sample(pts: 0, left: 0, position: 0), OutputTiming.Sample(pts: 5, left: 0, position: 0.25),
                       OutputTiming.Sample(pts: 9, left: 0, position: 1)]
        let out = try BlendInterpolator().interpolate(frames: [a, b], samples: samples)
        XCTAssertEqual(out.map(\.pts), [0, 5, 9])
        XCTAssertEqual(out[0].data, a.data)
        XCTAssertEqual(out[2].data, b.data)
        let expected = zip(a.data, b.data).map { UInt8((UInt16($0) * 192 + UInt16($1) * 64 + 128) >> 8) }
        XCTAssertEqual(out[1].data, expected)
    }

    func testMotionCompensatedInterpolationFollowsMotion() throws {
        let frames = try (0..<3).map { try SyntheticClip.pattern(width: 160, height: 120, index: $0 * 4, pts: Int64($0)) }
        let samples = [OutputTiming.Sample(pts: 0, left: 0, position: 0), OutputTiming.Sample(pts: 1, left: 0, position: 0.5),
                       OutputTiming.Sample(pts: 2, left: 1, position: 0), OutputTiming.Sample(pts: 3, left: 1, position: 0.5)]
        let out = try MotionCompensatedInterpolator(width: 160, height: 120, pixelFormat: "yuv420p").interpolate(frames: frames, samples: samples)
        XCTAssertEqual(out.map(\.pts), [0, 1, 2, 3])
        // The true middle frame (square moved half-way) beats a cross-fade of its neighbours.
        let truth = try SyntheticClip.pattern(width: 160, height: 120, index: 2, pts: 1)
        let blend = try BlendInterpolator().interpolate(frames: frames, samples: [samples[1]])[0]
        XCTAssertGreaterThan(MediaChecks.psnr(out[1].data, truth.data), MediaChecks.psnr(blend.data, truth.data))
    }

    func testSceneDetectorFlagsCutsNotMotion() throws {
        var detector = SceneDetector(threshold: 0.35)
        let a = try SyntheticClip.pattern(width: 64, height: 48, index: 0, pts: 0)
        let b = try SyntheticClip.pattern(width: 64, height: 48, index: 1, pts: 1)
        var black = try VideoFrame(width: 64, height: 48, pixelFormat: "yuv420p")
        black.data.replaceSubrange(0..<(64 * 48), with: repeatElement(240, count: 64 * 48))
        XCTAssertFalse(detector.isCut(previous: a, current: b))
        XCTAssertTrue(detector.isCut(previous: b, current: black))
    }
}
