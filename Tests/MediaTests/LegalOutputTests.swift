import Core
import Foundation
import Media
import TestSupport
import XCTest

/// Any size in, a legal size out (the whole picture kept, the display aspect too), and audio the
/// output container's players can play: copied when they can, re-encoded to AAC when they cannot.
final class LegalOutputTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try MediaChecks.temporaryDirectory("legal") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testOddSizedFramesArePaddedWithTheWholePictureAndTheDisplayAspectKept() throws {
        let (w, h) = (321, 181)
        let frames = try (0..<6).map { try SyntheticClip.pattern(width: w, height: h, index: $0, pts: Int64($0)) }
        // x264 at CRF 0 is lossless, so the picture must come back exactly.
        let settings = EncoderSettings(codec: "libx264", crf: 0, preset: "ultrafast", pixelFormat: "yuv420p")
        let segment = try ChunkEncoder.encode(frames: frames, settings: settings, timeBase: Rational(1, 25), frameRate: Rational(25, 1),
                                              sampleAspectRatio: Rational(1, 1))
        XCTAssertEqual([segment.header.width, segment.header.height], [322, 182], "padded to what 4:2:0 can encode")
        let sar = segment.header.sampleAspectRatio
        XCTAssertEqual(Double(322) * sar.double / 182, Double(w) / Double(h), accuracy: 1e-9, "display aspect of the 321×181 picture")
        let out = "\(dir)/odd.mp4"
        let muxer = try SegmentMuxer(outputPath: out, first: segment.header, audioSource: nil)
        try muxer.append(segment)
        _ = try muxer.finish()
        let decoded = try MediaChecks.frames(out)
        XCTAssertEqual(decoded.count, frames.count)
        for (original, back) in zip(frames, decoded) {
            XCTAssertEqual([back.width, back.height], [322, 182])
            var luma: [UInt8] = []
            for y in 0..<h { luma += back.data[(y * 322)..<(y * 322 + w)] }
            XCTAssertTrue(luma == Array(original.data[0..<(w * h)]), "the whole 321×181 picture, unchanged")
            let lastColumn: [UInt8] = (0..<h).map { back.data[$0 * 322 + 321] }, before: [UInt8] = (0..<h).map { back.data[$0 * 322 + 320] }
            XCTAssertTrue(lastColumn == before, "edge column repeated")
            let lastRow = Array(back.data[(181 * 322)..<(182 * 322)]), rowBefore = Array(back.data[(180 * 322)..<(181 * 322)])
            XCTAssertTrue(lastRow == rowBefore, "edge row repeated")
        }
        // x264 stores the ratio in its own reduced form (2921/2914 for 4173/4163): equal to 1e-6.
        XCTAssertEqual(try MediaProbe.probe(path: out).sampleAspectRatio.double, sar.double, accuracy: 1e-6, "the file carries the adjusted aspect")
    }

    /// A webm with Vorbis and an MPEG program stream with MP2: into MP4 their audio becomes AAC (and
    /// says so); into Matroska it is copied.
    func testAudioTheContainerCannotPlayIsReencodedToAAC() throws {
        for (name, codec, format) in [("vorbis.webm", "libvorbis", "webm"), ("mp2.mpg", "mp2", "vob")] {
            let source = "\(dir)/\(name)"
            try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=2",
                                                    "-f", "lavfi", "-i", "sine=frequency=440:duration=2:sample_rate=48000",
                                                    "-c:v", format == "webm" ? "libvpx" : "mpeg2video", "-c:a", codec, "-f", format, source])
            let frames = try (0..<20).map { try SyntheticClip.pattern(width: 64, height: 48, index: $0, pts: Int64($0)) }
            let segment = try ChunkEncoder.encode(frames: frames, settings: EncoderSettings(codec: "libx264", crf: 30, preset: "ultrafast",
                                                                                            pixelFormat: "yuv420p"),
                                                  timeBase: Rational(1, 10), frameRate: Rational(10, 1), sampleAspectRatio: Rational(1, 1))
            let sourceCodec = try AudioTrack.decode(path: source).codecName
            for (container, reencoded) in [("mp4", true), ("mkv", false)] {
                let out = "\(dir)/\(name).\(container)"
                let muxer = try SegmentMuxer(outputPath: out, first: segment.header, audioSource: source)
                try muxer.append(segment)
                let report = try muxer.finish()
                XCTAssertEqual(report.audioStreams, 1, "\(name) → \(container)")
                XCTAssertEqual(report.reencodedAudio.count, reencoded ? 1 : 0, "\(name) → \(container): \(report.reencodedAudio)")
                let audio = try AudioTrack.decode(path: out)
                XCTAssertEqual(audio.codecName, reencoded ? "aac" : sourceCodec, "\(name) → \(container)")
                let n = audio.samples.count
                let tone = try XCTUnwrap(MediaChecks.toneFrequency(audio.samples[n / 10 ..< n * 9 / 10], sampleRate: audio.sampleRate))
                XCTAssertEqual(tone, 440, accuracy: 440 * 0.02, "\(name) → \(container): the same sound")
            }
        }
    }
}
