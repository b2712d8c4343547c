import Core
import Enhance
import Foundation
import Logging
import Media
@testable import Pipeline
import TestSupport
import XCTest

/// RIFE behind the Interpolator stage, checked on pictures: drop every other frame of real
/// footage, restore them through the whole embedded pipeline, and compare with the real frames.
final class NeuralInterpolationPipelineTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try MediaChecks.temporaryDirectory("rife-pipeline") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testDroppedFramesOfRealFootageComeBack() async throws {
        let kept = 16
        try writeTruth(frames: 2 * kept)
        // The even frames, losslessly, as the source: its frames are exactly the real ones.
        try ffmpeg(["-i", "\(dir)/all.mp4", "-vf", "select='not(mod(n\\,2))',setpts=N/(10*TB)", "-r", "10",
                    "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p", "\(dir)/even.mp4"])
        try await interpolateWithRIFE("even.mp4", to: "restored.mkv")

        let out = try MediaChecks.frames("\(dir)/restored.mkv")
        let truth = try MediaChecks.frames("\(dir)/all.mp4")
        XCTAssertEqual(truth.count, 2 * kept)
        XCTAssertEqual(out.count, 2 * kept)
        var restored = 0.0, blended = 0.0, repeated = 0.0, real = Double.infinity
        for i in 0..<(kept - 1) {
            restored += try PictureQuality.psnr(out[2 * i + 1], truth[2 * i + 1])
            blended += try PictureQuality.psnr(BlendInterpolator.blend(truth[2 * i], truth[2 * i + 2], position: 0.5), truth[2 * i + 1])
            repeated += try PictureQuality.psnr(truth[2 * i], truth[2 * i + 1])
            real = min(real, try PictureQuality.psnr(out[2 * i], truth[2 * i]))
        }
        let n = Double(kept - 1)
        (restored, blended, repeated) = (restored / n, blended / n, repeated / n)
        print(String(format: "drop-and-restore through the pipeline: RIFE %.2f dB, blend %.2f dB, repeat %.2f dB", restored, blended, repeated))
        XCTAssertGreaterThan(real, 60, "kept frames pass through unchanged (lossless encode)")
        XCTAssertGreaterThan(restored, blended + 1.5, "RIFE's in-betweens must beat a cross-fade of the same frames")
        XCTAssertGreaterThan(restored, repeated + 3, "and be much closer to the real frames than a repeat")
    }

    /// Real footage held on twos (each even frame shown twice, as animation is drawn): with duplicate
    /// detection the frame at each repeat's time is made from the motion between the distinct
    /// drawings, so it comes close to the real odd frame the repeat stood in for.
    func testHeldFramesAreInterpolatedOverTheRealMotion() async throws {
        let pairs = 8
        try writeTruth(frames: 2 * pairs)
        // e0 e0 e2 e2 …: drop the odd frames and repeat the even ones (x264 at CRF 18, so repeats are not bit-exact).
        try ffmpeg(["-i", "\(dir)/all.mp4", "-vf", "select='not(mod(n\\,2))',setpts=N/(10*TB),fps=20", "-r", "20",
                    "-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p", "\(dir)/twos.mp4"])
        try await interpolateWithRIFE("twos.mp4", to: "smooth.mkv")

        let out = try MediaChecks.frames("\(dir)/smooth.mkv")
        let truth = try MediaChecks.frames("\(dir)/all.mp4")
        let source = try MediaChecks.frames("\(dir)/twos.mp4")
        XCTAssertEqual(out.count, 2 * source.count)
        var restored = 0.0, held = 0.0
        // Output frame 2j shows source time j; at odd j that is a repeat of drawing j−1.
        let odd = stride(from: 1, to: 2 * pairs - 2, by: 2).map { $0 }
        for j in odd {
            restored += try PictureQuality.psnr(out[2 * j], truth[j])
            held += try PictureQuality.psnr(source[j], truth[j])
        }
        (restored, held) = (restored / Double(odd.count), held / Double(odd.count))
        print(String(format: "on twos: frames at the repeats' times %.2f dB from the real ones; the repeats themselves %.2f dB", restored, held))
        XCTAssertGreaterThan(restored, held + 3, "repeats must be replaced by in-betweens of the real motion")
    }

    /// `all.mp4`: real footage with real motion (cockatoo.mp4, a head turning), scaled down so a
    /// debug build runs it quickly, stored losslessly (x264 qp 0): the truth every test compares with.
    private func writeTruth(frames: Int) throws {
        try ffmpeg(["-i", MediaChecks.realFootage("cockatoo.mp4"), "-vf", "select='between(n\\,60\\,\(59 + frames))',scale=480:270:flags=bicubic,setpts=N/(20*TB)",
                    "-r", "20", "-an", "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p", "\(dir)/all.mp4"])
    }

    /// ×2 with RIFE through the embedded pipeline, encoded losslessly; small segments and chunks so
    /// chunk boundaries are crossed.
    private func interpolateWithRIFE(_ source: String, to output: String) async throws {
        var settings = StageSettings()
        settings.segmentSeconds = 0.5
        settings.chunkPolicy = ChunkPolicy(maxFrames: 5, maxBytes: 64 << 20, minFramesAtCut: 3)
        let pipeline = EmbeddedPipeline(mediaRoot: dir, settings: settings, logger: Logger(label: "test"))
        let spec = JobSpec(source: source, output: output, interpolate: InterpolateSpec(factor: 2, model: "rife"),
                           encode: EncodeSpec(codec: "libx264", crf: 0, preset: "ultrafast"))
        _ = try await pipeline.run(spec: spec, interval: 0.05)
    }

    private func ffmpeg(_ arguments: [String]) throws {
        try run("/usr/bin/ffmpeg", ["-v", "error", "-y"] + arguments)
    }

    private func run(_ tool: String, _ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "\(tool) \(arguments.joined(separator: " "))")
    }
}
