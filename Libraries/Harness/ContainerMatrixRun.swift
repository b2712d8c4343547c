import Core
import Foundation
import Logging
import Media
import Pipeline

/// One case of the container matrix through the embedded pipeline (×2 Lanczos upscale, the default
/// lossy encoding, half-second segments, 10-frame chunks), run twice, and measured: against the
/// other run, against the source's timing and audio, and against FFmpeg's CLI doing the same
/// deinterlace and scale. The bounds live here, so the test and `reframe bench media` agree.
public struct ContainerMatrixRun: Sendable {
    public struct Result: Sendable {
        public var name: String
        public var segments = 0
        public var sourceFrames = 0
        public var outputFrames = 0
        /// Output frames whose pixels or times differ between the two runs.
        public var differingAcrossRuns: [Int] = []
        /// Largest difference between an output frame's time and its source frame's (both from the first frame), seconds.
        public var worstTimingError = 0.0
        public var deinterlaced: FieldOrder?
        /// The field order came from idet, not from the stream.
        public var interlaceDetected = false
        /// Luma PSNR of the worst frame against `ffmpeg -vf [bwdif,]scale=…:flags=lanczos`.
        public var worstPSNR = 0.0
        public var sourceAudio = ""
        public var outputAudio = ""
        /// For a copied track: whether the decoded samples equal the source's.
        public var audioSamplesEqual: Bool?
        /// What FFmpeg's decoder said while decoding the whole output audio track (empty: nothing).
        public var audioDecodeErrors = ""
        public var audioDurationError = 0.0
        public var toneHz: Double?
        public var notes: [String] = []
        public var seconds = 0.0
        public var problems: [String] = []

        public var passed: Bool { problems.isEmpty }

        public var line: String {
            let audio = outputAudio == sourceAudio ? "\(sourceAudio) copied\(audioSamplesEqual == true ? " (samples equal)" : "")"
                : "\(sourceAudio)→\(outputAudio)"
            let psnr = worstPSNR.isInfinite ? "∞" : String(format: "%.1f", worstPSNR)
            let tone = toneHz.map { String(format: "%.0f Hz", $0) } ?? "no tone"
            return String(format: "%@  %@  %d segments, %d→%d frames, timing ±%.1f ms, vs ffmpeg %@ dB%@, audio %@ %@, %.1f s",
                          passed ? "ok  " : "FAIL", name, segments, sourceFrames, outputFrames, worstTimingError * 1000, psnr,
                          deinterlaced.map { " (bwdif \($0.rawValue), \(interlaceDetected ? "detected by idet" : "marked"))" } ?? "", audio, tone, seconds)
                + (passed ? "" : " — " + problems.joined(separator: "; "))
        }
    }

    /// Bounds every case must meet.
    public static let minimumPSNR = 35.0
    public static let timingTolerance = 0.001
    public static let audioDurationTolerance = 0.1
    public static let toneTolerance = 2.0

    public let directory: String
    let logger: Logger

    public init(directory: String) {
        self.directory = directory
        var logger = Logger(label: "matrix")
        logger.logLevel = .error
        self.logger = logger
    }

    public func run(_ c: ContainerMatrix.Case) async throws -> Result {
        let started = Date()
        var r = Result(name: c.name)
        let source = try ContainerMatrix.write(c, into: directory)
        let stem = (c.file as NSString).deletingPathExtension
        var settings = StageSettings()
        settings.segmentSeconds = 0.5
        settings.chunkPolicy = ChunkPolicy(maxFrames: 10, maxBytes: 64 << 20, minFramesAtCut: 4)
        var outputs: [String] = []
        for run in 1...2 {
            let output = "\(stem)-x2-run\(run).\(c.output)"
            let pipeline = EmbeddedPipeline(mediaRoot: directory, settings: settings, logger: logger)
            let id = try await pipeline.run(spec: JobSpec(source: c.file, output: output, upscale: UpscaleSpec(factor: 2)), interval: 0.05)
            if run == 1, let job = try await pipeline.context.jobs.job(id), let plan = job.plan {
                (r.segments, r.deinterlaced, r.notes) = (plan.segments.count, plan.deinterlace, job.notes)
                r.interlaceDetected = plan.video.fieldOrderDetected
            }
            outputs.append("\(directory)/\(output)")
        }
        r.differingAcrossRuns = try FrameComparison.differingFrames(outputs[1], from: outputs[0])

        // Timing: every frame where the source shows it, counted from the first.
        let (sourceTimes, outputTimes) = (try Self.frameTimes(source), try Self.frameTimes(outputs[0]))
        (r.sourceFrames, r.outputFrames) = (sourceTimes.count, outputTimes.count)
        r.worstTimingError = zip(sourceTimes, outputTimes).map { abs(($1 - outputTimes[0]) - ($0 - sourceTimes[0])) }.max() ?? .infinity

        // Pictures: FFmpeg's CLI deinterlacing (when the job did) and scaling the same source.
        let probe = try MediaProbe.probe(path: source)
        let reference = "\(directory)/\(stem)-ffmpeg.mkv"
        let deinterlace = r.deinterlaced.map { "bwdif=mode=send_frame:parity=\($0 == .bottomFieldFirst ? "bff" : "tff"):deint=all," } ?? ""
        try ExternalTool.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-i", source, "-map", "0:v:0",
                                                 "-vf", "\(deinterlace)scale=\(probe.video.width * 2):\(probe.video.height * 2):flags=lanczos",
                                                 "-fps_mode", "passthrough", "-c:v", "ffv1", "-an", reference])
        let (ours, theirs) = (try FrameComparison.frames(outputs[0]), try FrameComparison.frames(reference))
        r.worstPSNR = ours.count == theirs.count ? try zip(ours, theirs).map { try PictureQuality.psnr($0, $1) }.min() ?? 0 : 0

        // Sound: the track is there, in a codec the container plays, whole, and still the tone.
        r.sourceAudio = try Self.audioCodec(source)
        r.outputAudio = try Self.audioCodec(outputs[0])
        if !r.outputAudio.isEmpty {
            r.audioDecodeErrors = try ExternalTool.runCapturing("/usr/bin/ffmpeg", ["-v", "error", "-i", outputs[0], "-map", "0:a:0", "-f", "null", "-"])
                .errors.trimmingCharacters(in: .whitespacesAndNewlines)
            r.audioDurationError = abs(try Self.audioDuration(outputs[0]) - Self.audioDuration(source))
            if r.outputAudio == r.sourceAudio {
                r.audioSamplesEqual = try Self.decodedAudioDigest(outputs[0]) == Self.decodedAudioDigest(source)
            }
            let samples = try Self.decodedAudio(outputs[0])
            let middle = samples.count / 4..<(samples.count * 3 / 4)
            r.toneHz = AudioMeasure.toneFrequency(samples[middle], sampleRate: 48000)
        }
        r.seconds = Date().timeIntervalSince(started)
        r.problems = Self.problems(r)
        return r
    }

    static func problems(_ r: Result) -> [String] {
        var p: [String] = []
        if r.segments < 3 { p.append("\(r.segments) segments, wanted several") }
        if !r.differingAcrossRuns.isEmpty { p.append("\(r.differingAcrossRuns.count) frames differ between two runs (first \(r.differingAcrossRuns[0]))") }
        if r.outputFrames != r.sourceFrames { p.append("\(r.outputFrames) frames out of \(r.sourceFrames)") }
        if r.worstTimingError > timingTolerance { p.append(String(format: "frame times off by up to %.1f ms", r.worstTimingError * 1000)) }
        if r.worstPSNR < minimumPSNR { p.append(String(format: "worst frame %.1f dB against FFmpeg's CLI (bound %.0f)", r.worstPSNR, minimumPSNR)) }
        if r.outputAudio.isEmpty { p.append("no audio track") }
        if !r.audioDecodeErrors.isEmpty { p.append("audio decodes with errors: \(r.audioDecodeErrors.prefix(200))") }
        if r.audioDurationError > audioDurationTolerance { p.append(String(format: "audio length off by %.2f s", r.audioDurationError)) }
        if r.audioSamplesEqual == false { p.append("copied audio decodes to other samples than the source's") }
        if abs((r.toneHz ?? 0) - 440) > toneTolerance { p.append("the 440 Hz tone came out at \(r.toneHz.map { String(format: "%.1f Hz", $0) } ?? "nothing")") }
        return p
    }

    static func frameTimes(_ path: String) throws -> [Double] {
        let probe = try MediaProbe.probe(path: path)
        var times: [Double] = []
        try SegmentDecoder(path: path, workingPixelFormat: "yuv420p").decodeAll { times.append(Double($0.pts) * probe.video.timeBase.double) }
        return times
    }

    static func audioCodec(_ path: String) throws -> String {
        // A transport stream lists its streams twice (under its program too): the first line names it.
        try ExternalTool.run("/usr/bin/ffprobe", ["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=codec_name",
                                                  "-of", "default=nw=1:nk=1", path])
            .split(separator: "\n").first.map(String.init) ?? ""
    }

    /// From the first audio packet's start to the last one's end (containers disagree on stream durations).
    static func audioDuration(_ path: String) throws -> Double {
        let rows = try ExternalTool.run("/usr/bin/ffprobe", ["-v", "error", "-select_streams", "a:0", "-show_entries", "packet=pts_time,duration_time",
                                                             "-of", "csv=p=0", path])
            .split(separator: "\n").map { $0.split(separator: ",").compactMap { Double($0) } }.filter { $0.count == 2 }
        guard let first = rows.map({ $0[0] }).min(), let end = rows.map({ $0[0] + $0[1] }).max() else { return 0 }
        return end - first
    }

    static func decodedAudioDigest(_ path: String) throws -> String {
        try ExternalTool.run("/usr/bin/ffmpeg", ["-v", "error", "-i", path, "-map", "0:a:0", "-f", "md5", "-"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The first audio track, mono 48 kHz floats.
    static func decodedAudio(_ path: String) throws -> [Float] {
        let raw = "\(path).f32"
        defer { unlink(raw) }
        try ExternalTool.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-i", path, "-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "f32le", raw])
        let data = try Data(contentsOf: URL(fileURLWithPath: raw))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}
