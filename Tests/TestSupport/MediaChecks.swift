import Core
import Foundation
import Harness
import Media

/// What a test needs to know about an output file.
public struct MediaSummary {
    public var width: Int
    public var height: Int
    /// Presentation times of every frame, in seconds, in decode-output order.
    public var frameTimes: [Double]
    public var duration: Double
    public var audioStreams: Int
    public var frameRate: Double

    public var frameCount: Int { frameTimes.count }
    public var strictlyIncreasing: Bool { zip(frameTimes, frameTimes.dropFirst()).allSatisfy { $0 < $1 } }
}

public enum MediaChecks {
    /// Decodes every frame (not just the index) so the counts and times are what a player sees.
    public static func summary(_ path: String) throws -> MediaSummary {
        let probe = try MediaProbe.probe(path: path)
        let decoder = try SegmentDecoder(path: path, workingPixelFormat: "yuv420p")
        var times: [Double] = []
        try decoder.decodeAll { times.append(Double($0.pts) * probe.video.timeBase.double) }
        return MediaSummary(width: probe.video.width, height: probe.video.height, frameTimes: times, duration: probe.video.durationSeconds,
                            audioStreams: probe.audioStreams, frameRate: probe.video.frameRate.double)
    }

    public static func frames(_ path: String) throws -> [VideoFrame] { try FrameComparison.frames(path) }

    /// Spec flags for tests that compare a run's frames bit for bit with another run's. Lossy output
    /// is repeatable too (LibavRuntime), but lossless output decodes to exactly the frames the encoder
    /// was given, so a difference points at a stage, never at the encoder's choices.
    /// (ultrafast: lossless at the default preset made a 600-frame test take minutes.)
    public static let losslessEncoding = ["--crf", "0", "--preset", "ultrafast"]

    /// Indices of the frames of `path` whose pixels or times differ from `reference`'s (every index
    /// past the shorter file counts as differing).
    public static func differingFrames(_ path: String, from reference: String) throws -> [Int] {
        try FrameComparison.differingFrames(path, from: reference)
    }

    /// PSNR in dB over all bytes (infinity when identical).
    public static func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
        precondition(a.count == b.count)
        var sum = 0.0
        for i in 0..<a.count {
            let d = Double(Int(a[i]) - Int(b[i]))
            sum += d * d
        }
        if sum == 0 { return .infinity }
        return 10 * log10(255 * 255 / (sum / Double(a.count)))
    }

    public static func toneFrequency(_ samples: ArraySlice<Float>, sampleRate: Int, hysteresis: Float = 0.02) -> Double? {
        AudioMeasure.toneFrequency(samples, sampleRate: sampleRate, hysteresis: hysteresis)
    }

    public static func rms(_ samples: ArraySlice<Float>) -> Double { AudioMeasure.rms(samples) }

    /// Runs a command line tool (ffmpeg, ffprobe) to its end; throws with its error output when it fails.
    @discardableResult
    public static func run(_ tool: String, _ arguments: [String]) throws -> String { try ExternalTool.run(tool, arguments) }

    /// Combing: the share of luma pixels that stick out from both vertical neighbours the same way
    /// by more than 12 levels — the line-by-line zigzag of two fields from different moments.
    public static func combing(_ frame: VideoFrame) -> Double {
        let (w, h) = (frame.width, frame.height)
        var combed = 0
        frame.data.withUnsafeBufferPointer { y in
            for row in 1..<(h - 1) {
                for x in 0..<w {
                    let c = Int(y[row * w + x]), up = Int(y[(row - 1) * w + x]), down = Int(y[(row + 1) * w + x])
                    if (c - up) * (c - down) > 144 { combed += 1 }
                }
            }
        }
        return Double(combed) / Double(w * (h - 2))
    }

    /// Mean combing over frames.
    public static func combing(_ frames: [VideoFrame]) -> Double {
        frames.map { combing($0) }.reduce(0, +) / Double(max(frames.count, 1))
    }

    /// A synthetic test clip (SyntheticClip's pattern and tone) of `frames` frames.
    public static func writeClip(_ path: String, frames: Int, keyframeInterval: Int) throws {
        var o = SyntheticClip.Options()
        o.frames = frames
        o.keyframeInterval = keyframeInterval
        try SyntheticClip.write(path: path, options: o)
    }

    /// The worst luma PSNR of `output`'s frames 0, `every`, 2·`every`, … against FFmpeg's own
    /// `scale=iw*factor:ih*factor:flags=lanczos` of `source`, an independent reference for a Lanczos
    /// upscale (`every` 2 skips the frames a ×2 interpolation added). Fails when the counts disagree.
    public static func worstPSNRAgainstFFmpegLanczos(_ output: String, source: String, factor: Int, every: Int = 1) throws -> Double {
        let reference = output + ".ffmpeg-lanczos.mkv"
        defer { try? FileManager.default.removeItem(atPath: reference) }
        try run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-i", source, "-vf", "scale=iw*\(factor):ih*\(factor):flags=lanczos",
                                    "-c:v", "ffv1", "-pix_fmt", "yuv420p", "-an", reference])
        let (ours, theirs) = (try frames(output), try frames(reference))
        guard ours.count == every * theirs.count else {
            throw ServiceCluster.Failure.notConfigured("\(output): \(ours.count) frames, FFmpeg's reference ×\(every): \(every * theirs.count)")
        }
        return try theirs.enumerated().map { try PictureQuality.psnr(ours[every * $0.offset], $0.element) }.min() ?? .infinity
    }

    /// A fresh temporary directory for one test.
    public static func temporaryDirectory(_ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reframe-\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The real footage fetched by scripts/fetch-media.sh.
    public static func realFootage(_ name: String) -> String {
        let cache = ProcessInfo.processInfo.environment["REFRAME_MEDIA_CACHE"]
            ?? (ProcessInfo.processInfo.environment["HOME"] ?? "/root") + "/.cache/reframe/media"
        return "\(cache)/\(name)"
    }
}
