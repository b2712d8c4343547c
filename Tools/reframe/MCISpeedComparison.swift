import Core
import Enhance
import Foundation
import Media

/// Speed of our `mci` interpolator against FFmpeg's own CLI doing the same target-rate conversion
/// (`-vf minterpolate=fps=F:mi_mode=mci:…`, the options the interpolator uses), on the same frames
/// and the same thread count.
///
/// What is timed, so that both sides do the same work:
/// * Decoding is left out of both. The first `frames` frames (plus one more, see below) are decoded
///   beforehand, untimed. Ours gets them in memory; ffmpeg reads them as raw video from a temporary
///   file (`-f rawvideo`, a page-cache read with no decoding), so its time includes only that read,
///   its process start-up and the `-f null` sink: a few tens of milliseconds, against seconds of filtering.
/// * Ours runs the frames as one chunk: `frames − 1` own frames plus the last as lookahead, so it
///   makes the in-betweens of `frames − 1` intervals (and repeats the last frame once, see
///   MotionCompensatedInterpolator). minterpolate in the CLI emits an interval only when the frame
///   after it arrives and is not flushed at the end, so ffmpeg gets one frame more (`frames + 1`)
///   and renders the same `frames − 1` intervals from the same number of motion searches.
/// * Same threads: our filter graph gets `threads`; ffmpeg gets `-threads` and `-filter_threads`.
///   (minterpolate itself is single-threaded, so this mainly keeps either side from using more.)
///
/// Each side runs `runs` times; the medians are returned.
enum MCISpeedComparison {
    /// Everything after `fps=`, as MotionCompensatedInterpolator configures minterpolate.
    static let filterOptions = "mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1:scd=none"

    static func run(source: String, targetFps: Double, frames: Int, threads: Int, runs: Int = 1) throws
        -> (oursSeconds: Double, ffmpegSeconds: Double)
    {
        guard frames >= 2 else { throw MediaError.invalidData("the comparison needs at least 2 frames") }
        let probe = try MediaProbe.probe(path: source)
        let decoded = try firstFrames(path: source, count: frames + 1)
        guard decoded.count >= 2, let first = decoded.first else { throw MediaError.invalidData("\(source) has fewer than 2 frames") }
        let chunk = Array(decoded.prefix(frames))
        let target = Rational.approximating(targetFps)
        let timing = OutputTiming(kind: .targetRate, targetRate: target, sourceTimeBase: probe.video.timeBase, sourceStartPts: first.pts)
        let samples = timing.samples(pts: chunk.dropLast().map(\.pts), nextPts: chunk.last!.pts, hasNext: true, sceneCuts: [])
        let interpolator = MotionCompensatedInterpolator(width: first.width, height: first.height, pixelFormat: first.pixelFormat, threads: threads)

        var ours: [Double] = []
        for _ in 0..<max(runs, 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            let out = try interpolator.interpolate(frames: chunk, samples: samples)
            ours.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            guard out.count == samples.count else { throw MediaError.invalidData("mci returned \(out.count) frames for \(samples.count) samples") }
        }

        let work = FileManager.default.temporaryDirectory.appendingPathComponent("reframe-mci-speed-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let raw = work.appendingPathComponent("frames.raw")
        FileManager.default.createFile(atPath: raw.path, contents: nil)
        let handle = try FileHandle(forWritingTo: raw)
        for frame in decoded { try handle.write(contentsOf: frame.data) }
        try handle.close()
        let rate = probe.video.frameRate
        let arguments = ["-nostdin", "-v", "error", "-filter_threads", String(threads),
                         "-f", "rawvideo", "-pix_fmt", first.pixelFormat, "-s", "\(first.width)x\(first.height)",
                         "-r", "\(rate.num)/\(rate.den)", "-i", raw.path,
                         "-vf", "minterpolate=fps=\(target.num)/\(target.den):\(filterOptions)",
                         "-threads", String(threads), "-f", "null", "-"]
        var ffmpeg: [Double] = []
        for _ in 0..<max(runs, 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            try runFFmpeg(arguments)
            ffmpeg.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return (median(ours), median(ffmpeg))
    }

    /// The first `count` frames in the working format (yuv420p), decoding no further.
    static func firstFrames(path: String, count: Int) throws -> [VideoFrame] {
        struct Enough: Error {}
        var frames: [VideoFrame] = []
        do {
            try SegmentDecoder(path: path, workingPixelFormat: "yuv420p").decodeAll { frame in
                frames.append(frame)
                if frames.count >= count { throw Enough() }
            }
        } catch is Enough {}
        return frames
    }

    private static func runFFmpeg(_ arguments: [String]) throws {
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ffmpeg"] + arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw MediaError.invalidData("ffmpeg exited with \(process.terminationStatus)") }
    }

    private static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
}
