import Core
import Foundation
import Logging
import Media
import Messaging
@testable import Pipeline
import Store
import TestSupport
import XCTest

final class EmbeddedPipelineTests: XCTestCase {
    var dir = ""
    let logger = Logger(label: "test")

    override func setUpWithError() throws { dir = try MediaChecks.temporaryDirectory("embedded") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// Small segments and chunks so one short clip crosses segment and chunk boundaries.
    var settings: StageSettings {
        var s = StageSettings()
        s.segmentSeconds = 0.5
        s.chunkPolicy = ChunkPolicy(maxFrames: 7, maxBytes: 64 << 20, minFramesAtCut: 3)
        return s
    }

    func clip(frames: Int = 45, vfr: Bool = false) throws -> SyntheticClip.Options {
        var o = SyntheticClip.Options()
        o.frames = frames
        o.keyframeInterval = 15
        o.variableRate = vfr
        try SyntheticClip.write(path: "\(dir)/in.mp4", options: o)
        return o
    }

    func testUpscaleAndSmoothInterpolationAcrossSegmentsAndChunks() async throws {
        _ = try clip()
        let pipeline = EmbeddedPipeline(mediaRoot: dir, settings: settings, logger: logger)
        let spec = JobSpec(source: "in.mp4", output: "out.mp4", upscale: UpscaleSpec(factor: 2), interpolate: InterpolateSpec(factor: 2))
        let id = try await pipeline.run(spec: spec, interval: 0.05)
        let out = try MediaChecks.summary("\(dir)/out.mp4")
        XCTAssertEqual([out.width, out.height], [640, 480])
        XCTAssertEqual(out.frameCount, 90, "2·N: every source frame is followed by one in-between (the last by a held copy)")
        XCTAssertEqual(out.duration, 1.5, accuracy: 1.0 / 60)
        XCTAssertTrue(out.strictlyIncreasing)
        XCTAssertEqual(out.audioStreams, 1)
        XCTAssertEqual(Double(out.frameCount) / out.duration, 60, accuracy: 0.5, "frame rate doubled")
        // Done jobs leave no frames behind.
        let left = try await pipeline.store.keys(prefix: Keys.framesPrefix(id))
        XCTAssertEqual(left.count, 0, "frame keys left after the job")
        let inFlight = try await pipeline.context.jobs.inFlightBytes(jobId: id)
        XCTAssertEqual(inFlight, 0)
    }

    func testVariableFrameRateTimingIsKept() async throws {
        let o = try clip(frames: 30, vfr: true)
        let pipeline = EmbeddedPipeline(mediaRoot: dir, settings: settings, logger: logger)
        _ = try await pipeline.run(spec: JobSpec(source: "in.mp4", output: "up.mp4", upscale: UpscaleSpec(factor: 2)), interval: 0.05)
        let source = SyntheticClip.framePts(o).map { Double($0) / Double(o.fps * 6) }
        let up = try MediaChecks.summary("\(dir)/up.mp4")
        XCTAssertEqual(up.frameTimes.count, source.count)
        for (a, b) in zip(up.frameTimes, source) { XCTAssertEqual(a, b, accuracy: 1e-3) }

        let pipeline2 = EmbeddedPipeline(mediaRoot: dir, settings: settings, logger: logger)
        _ = try await pipeline2.run(spec: JobSpec(source: "in.mp4", output: "x2.mp4", interpolate: InterpolateSpec(factor: 2, model: "blend")), interval: 0.05)
        let x2 = try MediaChecks.summary("\(dir)/x2.mp4")
        XCTAssertEqual(x2.frameCount, 60)
        // Each source time is kept; in-betweens sit half-way into each (uneven) interval.
        for i in 0..<(source.count - 1) {
            XCTAssertEqual(x2.frameTimes[2 * i], source[i], accuracy: 1e-3)
            XCTAssertEqual(x2.frameTimes[2 * i + 1], (source[i] + source[i + 1]) / 2, accuracy: 1e-3)
        }
    }

    /// Slow motion with `audio: stretch`: the source's 440 Hz tone comes out re-encoded to AAC, as long
    /// as the slowed-down video, and still at 440 Hz (resampling it to the new length would give 440/F).
    func testSlowMotionStretchesAudioToTheVideoKeepingPitch() async throws {
        _ = try clip(frames: 45)
        let source = try AudioTrack.decode(path: "\(dir)/in.mp4")
        let sourceTone = try XCTUnwrap(MediaChecks.toneFrequency(source.samples[...], sampleRate: source.sampleRate))
        XCTAssertEqual(sourceTone, 440, accuracy: 1, "the synthetic clip's tone")
        // An AAC frame: the granularity of the encoder's padding, which the decoder may not trim at the end.
        let aacFrame = 1024.0 / 48000
        for factor in [2, 4] {
            let pipeline = EmbeddedPipeline(mediaRoot: dir, settings: settings, logger: logger)
            let spec = JobSpec(source: "in.mp4", output: "slow\(factor).mp4",
                               interpolate: InterpolateSpec(factor: factor, mode: .slowmo, model: "blend"),
                               encode: EncodeSpec(preset: "veryfast"), audio: .stretch)
            _ = try await pipeline.run(spec: spec, interval: 0.05)
            let path = "\(dir)/slow\(factor).mp4"
            let video = try MediaChecks.summary(path)
            XCTAssertEqual(video.frameCount, 45 * factor)
            XCTAssertEqual(video.duration, 1.5 * Double(factor), accuracy: 1e-3, "slow motion: duration × \(factor)")
            XCTAssertEqual(video.audioStreams, 1)
            let audio = try AudioTrack.decode(path: path)
            XCTAssertEqual(audio.codecName, "aac")
            XCTAssertEqual(audio.sampleRate, 48000)
            XCTAssertEqual(audio.startSeconds, 0, accuracy: 1e-3, "audio starts with the video")
            XCTAssertEqual(try XCTUnwrap(audio.containerDurationSeconds), video.duration, accuracy: 1e-3,
                           "×\(factor): the stored audio duration is the video's")
            XCTAssertEqual(audio.endSeconds, video.duration, accuracy: aacFrame + 1e-3, "×\(factor): decoded audio ends with the video")
            // Pitch over the middle 80 % (the edges hold the encoder's ramp-in and the cut).
            let n = audio.samples.count
            let middle = audio.samples[n / 10 ..< n * 9 / 10]
            for tenth in 1..<9 {
                XCTAssertGreaterThan(MediaChecks.rms(audio.samples[n * tenth / 10 ..< n * (tenth + 1) / 10]), 0.15,
                                     "×\(factor): the tone lasts throughout, not silence (tenth \(tenth))")
            }
            let tone = try XCTUnwrap(MediaChecks.toneFrequency(middle, sampleRate: audio.sampleRate))
            XCTAssertEqual(tone, sourceTone, accuracy: sourceTone * 0.02, "×\(factor): pitch kept (a resample would give \(440 / factor) Hz)")
            print("slowmo ×\(factor): video \(video.duration) s, audio \(audio.startSeconds)…\(audio.endSeconds) s (container \(audio.containerDurationSeconds ?? -1) s), tone \(sourceTone) → \(tone) Hz, rms \(MediaChecks.rms(middle))")
        }
    }

    /// Smooth mode keeps the duration, so `stretch` copies the audio: no slow-down, same length.
    func testStretchInSmoothModeIsACopy() async throws {
        _ = try clip(frames: 45)
        let pipeline = EmbeddedPipeline(mediaRoot: dir, settings: settings, logger: logger)
        let spec = JobSpec(source: "in.mp4", output: "smooth.mp4", interpolate: InterpolateSpec(factor: 2, model: "blend"),
                           encode: EncodeSpec(preset: "veryfast"), audio: .stretch)
        let (_, plan) = try await IngestHandler.plan(id: "smooth", specBody: Array(try JSONEncoder().encode(spec)), context: pipeline.context)
        XCTAssertEqual(FinalizeHandler.audioTreatment(plan), .copy)
        var slow = plan
        slow.outputTiming.slowMotion = true
        XCTAssertEqual(FinalizeHandler.audioTreatment(slow), .stretch(SegmentMuxer.AudioStretch(factor: 2, sourceEnd: 1.5)))
        slow.audio = .copy
        XCTAssertEqual(FinalizeHandler.audioTreatment(slow), .copy, "copy stays a copy in slow motion")

        _ = try await pipeline.run(spec: spec, interval: 0.05)
        let source = try AudioTrack.decode(path: "\(dir)/in.mp4")
        let audio = try AudioTrack.decode(path: "\(dir)/smooth.mp4")
        XCTAssertEqual(audio.samples.count, source.samples.count, "the same audio, not stretched")
        XCTAssertTrue(audio.samples == source.samples, "copied packets decode to identical samples")
    }

    func testRejectedSpecFailsWithItsReason() async throws {
        let pipeline = EmbeddedPipeline(mediaRoot: dir, settings: settings, logger: logger)
        do {
            _ = try await pipeline.run(spec: JobSpec(source: "missing.mp4", upscale: UpscaleSpec(factor: 2)))
            XCTFail("a missing source must fail")
        } catch let error as SpecError {
            XCTAssertEqual(error.message, "source 'missing.mp4' does not exist or is not readable")
        }
    }
}
