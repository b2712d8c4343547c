import Core
import Foundation
import Media
import TestSupport
import XCTest

/// Slow-motion audio: `SegmentMuxer` with an `AudioStretch` decodes the source's audio, slows it down
/// with libavfilter's atempo (pitch kept) and re-encodes it to AAC alongside the video.
final class AudioStretchTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try MediaChecks.temporaryDirectory("stretch") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// atempo takes 0.5…100 per instance: slowing by more than 2 chains instances whose tempos multiply
    /// to 1/factor.
    func testAtempoChainStaysInRange() {
        XCTAssertEqual(AudioStretcher.tempos(slowdown: 1), [1])
        XCTAssertEqual(AudioStretcher.tempos(slowdown: 2), [0.5])
        XCTAssertEqual(AudioStretcher.tempos(slowdown: 4), [0.5, 0.5])
        XCTAssertEqual(AudioStretcher.tempos(slowdown: 8), [0.5, 0.5, 0.5])
        XCTAssertEqual(AudioStretcher.filters(slowdown: 4), "atempo=0.5,atempo=0.5")
        XCTAssertEqual(AudioStretcher.filters(slowdown: 8), "atempo=0.5,atempo=0.5,atempo=0.5")
        for factor in [1.5, 2, 3, 4, 5, 6, 8, 10, 16] {
            let tempos = AudioStretcher.tempos(slowdown: factor)
            XCTAssertTrue(tempos.allSatisfy { (0.5...1).contains($0) }, "×\(factor): \(tempos)")
            XCTAssertEqual(tempos.reduce(1, *), 1 / factor, accuracy: 1e-12, "×\(factor): \(tempos)")
            XCTAssertEqual(tempos.count, max(1, Int(ceil(log2(factor)))), "×\(factor): fewest instances")
        }
        XCTAssertEqual(AudioStretcher.tempos(slowdown: 3)[1], 2.0 / 3, accuracy: 1e-12, "×3: 0.5, then the remainder")
    }

    /// The measurement the pitch checks rely on tells a kept pitch from a resampled one.
    func testToneMeasureSeesAResampledTone() throws {
        let tone = (0..<48000).map { Float(0.3 * sin(2 * Double.pi * 440 * Double($0) / 48000)) }
        XCTAssertEqual(try XCTUnwrap(MediaChecks.toneFrequency(tone[...], sampleRate: 48000)), 440, accuracy: 0.01)
        // Stretched to twice the length by resampling (linear interpolation): the pitch halves.
        var resampled: [Float] = []
        for i in 0..<(tone.count - 1) {
            let a: Float = tone[i], b: Float = tone[i + 1]
            resampled += [a, (a + b) / 2]
        }
        XCTAssertEqual(try XCTUnwrap(MediaChecks.toneFrequency(resampled[...], sampleRate: 48000)), 220, accuracy: 0.01)
    }

    /// A small video stream lasting `seconds` (one frame a second, the last one shorter), as the muxer
    /// would get it from the encoder in slow motion.
    func video(seconds: Double) throws -> EncodedSegment {
        let end = Int64((seconds * 1000).rounded())
        let pts = Array(stride(from: Int64(0), to: end, by: 1000))
        let frames = try pts.enumerated().map { try SyntheticClip.pattern(width: 64, height: 48, index: $0, pts: $1) }
        let settings = EncoderSettings(codec: "libx264", crf: 30, preset: "ultrafast", pixelFormat: "yuv420p")
        return try ChunkEncoder.encode(frames: frames, settings: settings, timeBase: Rational(1, 1000), frameRate: Rational(1, 1),
                                       sampleAspectRatio: Rational(1, 1), endPts: end)
    }

    /// Muxes `video(seconds: sourceSeconds × factor)` with `source`'s audio stretched by `factor`.
    func stretch(_ source: String, sourceSeconds: Double, factor: Int, output: String) throws -> SegmentMuxer.Report {
        let segment = try video(seconds: sourceSeconds * Double(factor))
        let muxer = try SegmentMuxer(outputPath: output, first: segment.header, audioSource: source,
                                     stretch: SegmentMuxer.AudioStretch(factor: factor, sourceEnd: sourceSeconds))
        try muxer.append(segment)
        return try muxer.finish()
    }

    /// A factor that is not a power of two (3: atempo 0.5 then 0.667) on the synthetic 440 Hz tone.
    func testStretchByThreeKeepsPitchAndLength() throws {
        var o = SyntheticClip.Options()
        o.frames = 30
        o.width = 64
        o.height = 48
        let source = "\(dir)/tone.mp4"
        try SyntheticClip.write(path: source, options: o)
        let out = "\(dir)/x3.mkv"
        let report = try stretch(source, sourceSeconds: 1, factor: 3, output: out)
        XCTAssertEqual(report.audioStreams, 1)
        XCTAssertEqual(report.stretchedAudioStreams, 1)
        let video = try MediaChecks.summary(out)
        XCTAssertEqual(video.duration, 3, accuracy: 1e-3)
        let audio = try AudioTrack.decode(path: out)
        XCTAssertEqual(audio.codecName, "aac")
        // Matroska has no edit list: the muxer shifts both streams by the encoder's priming (one AAC frame),
        // which then plays before the video's first frame, and keeps the end padding.
        let aacFrame = 1024.0 / 48000, videoStart = try XCTUnwrap(video.frameTimes.first)
        XCTAssertEqual(audio.startSeconds, videoStart, accuracy: aacFrame + 1e-3)
        XCTAssertEqual(audio.endSeconds, videoStart + video.duration, accuracy: aacFrame + 1e-3, "as long as the video, to an AAC frame")
        let n = audio.samples.count
        let middle = audio.samples[n / 10 ..< n * 9 / 10]
        for tenth in 1..<9 {
            XCTAssertGreaterThan(MediaChecks.rms(audio.samples[n * tenth / 10 ..< n * (tenth + 1) / 10]), 0.15,
                                 "the tone lasts throughout, not silence (tenth \(tenth))")
        }
        let tone = try XCTUnwrap(MediaChecks.toneFrequency(middle, sampleRate: audio.sampleRate))
        XCTAssertEqual(tone, 440, accuracy: 440 * 0.02, "pitch kept (a resample would give 147 Hz)")
        print("×3 tone: \(tone) Hz, audio \(audio.startSeconds)…\(audio.endSeconds) s, video \(videoStart)…\(videoStart + video.duration) s")
    }

    /// Real files: balle-jbart's stereo 48 kHz AAC (as long as its video) and cockatoo's mono 16 kHz MP3,
    /// whose audio stops 0.1 s before its video: the stretched track is cut or padded to end with the video,
    /// keeps its rate and channels, and is AAC in MP4.
    func testRealFootageAudioFollowsSlowMotionVideo() throws {
        for (name, seconds, factor, rate, channels) in [("balle-jbart.mp4", 10.2, 2, 48000, 2), ("cockatoo.mp4", 14.0, 4, 16000, 1)] {
            let footage = MediaChecks.realFootage(name)
            guard FileManager.default.fileExists(atPath: footage) else {
                return XCTFail("\(footage) missing: scripts/fetch-media.sh fetches it (the test command runs it)")
            }
            let sourceAudio = try AudioTrack.decode(path: footage)
            let out = "\(dir)/\(name)-x\(factor).mp4"
            let report = try stretch(footage, sourceSeconds: seconds, factor: factor, output: out)
            XCTAssertEqual(report.stretchedAudioStreams, 1, name)
            XCTAssertEqual(report.skippedStreams, [], name)
            let video = try MediaChecks.summary(out)
            let expected = seconds * Double(factor)
            XCTAssertEqual(video.duration, expected, accuracy: 1e-3, name)
            let audio = try AudioTrack.decode(path: out)
            XCTAssertEqual(audio.codecName, "aac", name)
            XCTAssertEqual(audio.sampleRate, rate, name)
            XCTAssertEqual(audio.channels, channels, name)
            XCTAssertEqual(audio.startSeconds, 0, accuracy: 1e-3, name)
            XCTAssertEqual(try XCTUnwrap(audio.containerDurationSeconds), expected, accuracy: 1e-3, "\(name): stored audio duration")
            XCTAssertEqual(audio.endSeconds, expected, accuracy: 1024.0 / Double(rate) + 1e-3, "\(name): decoded audio ends with the video")
            print("\(name) ×\(factor): source audio \(sourceAudio.startSeconds)…\(sourceAudio.endSeconds) s, video \(video.duration) s, stretched audio \(audio.startSeconds)…\(audio.endSeconds) s (container \(audio.containerDurationSeconds ?? -1) s), \(audio.sampleRate) Hz × \(audio.channels)")
        }
    }
}
