import Core
import Foundation
import Media

/// Issue 11's container matrix: one short clip per container and codec archives come in, written
/// by the ffmpeg CLI (libav's own muxers and encoders) with a moving test pattern and a 440 Hz tone,
/// 12-frame GOPs so that half-second segments make several per clip.
public enum ContainerMatrix {
    public struct Case: Sendable {
        public var name: String
        /// Source file name (its extension picks ffmpeg's muxer unless `arguments` name one).
        public var file: String
        public var video: [String]
        public var audio: [String]
        public var size = "320x180"
        public var rate = 25
        public var seconds = 4
        public var extra: [String] = []
        /// Output extension: Matroska where the source's audio should be copied as it is.
        public var output = "mp4"
        /// Written by SyntheticClip instead (variable frame rate, which the CLI's lavfi sources cannot make).
        public var variableRate = false

        /// bwdif's parity for sources coded interlaced (what the reference deinterlaces with).
        public var interlaced: FieldOrder? {
            guard let i = video.firstIndex(of: "-top"), i + 1 < video.count else { return nil }
            return video[i + 1] == "1" ? .topFieldFirst : .bottomFieldFirst
        }
    }

    static let mpeg2 = ["-c:v", "mpeg2video", "-g", "12", "-bf", "2", "-q:v", "4"]
    static let interlacedMPEG2 = mpeg2 + ["-flags", "+ilme+ildct"]

    public static let cases: [Case] = [
        Case(name: "MPEG-2 PS, open GOP, B-frames, 720×405", file: "ps.mpg", video: mpeg2, audio: ["-c:a", "mp2"], size: "720x405",
             seconds: 2, extra: ["-f", "vob"]),
        Case(name: "MPEG-2 TS, open GOP, B-frames", file: "ts.ts", video: mpeg2, audio: ["-c:a", "mp2"]),
        Case(name: "MPEG-2 interlaced TFF", file: "tff.mpg", video: interlacedMPEG2 + ["-top", "1"], audio: ["-c:a", "mp2"],
             size: "720x576", seconds: 2, extra: ["-f", "vob"]),
        Case(name: "MPEG-2 interlaced BFF", file: "bff.mpg", video: interlacedMPEG2 + ["-top", "0"], audio: ["-c:a", "ac3"],
             size: "720x480", rate: 30, seconds: 2, extra: ["-f", "vob"]),
        Case(name: "MP4 H.264, B-frames", file: "h264.mp4", video: ["-c:v", "libx264", "-g", "12", "-bf", "3", "-preset", "veryfast"],
             audio: ["-c:a", "aac"]),
        Case(name: "MOV HEVC, open GOP", file: "hevc.mov", video: ["-c:v", "libx265", "-g", "12", "-bf", "3", "-preset", "ultrafast",
                                                                    "-x265-params", "log-level=error:open-gop=1"],
             audio: ["-c:a", "pcm_s16le"], output: "mov"),
        Case(name: "MKV H.264 + Vorbis", file: "h264.mkv", video: ["-c:v", "libx264", "-g", "12", "-bf", "2"], audio: ["-c:a", "libvorbis"],
             output: "mkv"),
        Case(name: "AVI MJPEG + PCM", file: "mjpeg.avi", video: ["-c:v", "mjpeg", "-q:v", "4"], audio: ["-c:a", "pcm_s16le"]),
        Case(name: "AVI MPEG-4 ASP + MP3", file: "asp.avi", video: ["-c:v", "mpeg4", "-g", "12", "-bf", "2", "-q:v", "4"],
             audio: ["-c:a", "libmp3lame"]),
        Case(name: "WebM VP8 + Vorbis", file: "vp8.webm", video: ["-c:v", "libvpx", "-g", "12", "-b:v", "1M"], audio: ["-c:a", "libvorbis"]),
        Case(name: "WebM VP9 + Opus", file: "vp9.webm", video: ["-c:v", "libvpx-vp9", "-g", "12", "-b:v", "1M", "-deadline", "realtime",
                                                                "-cpu-used", "8"], audio: ["-c:a", "libopus"], output: "mkv"),
        Case(name: "FLV Sorenson + AAC", file: "sorenson.flv", video: ["-c:v", "flv", "-g", "12", "-q:v", "4"], audio: ["-c:a", "aac", "-ar", "44100"]),
        Case(name: "3GP H.263 + AAC", file: "h263.3gp", video: ["-c:v", "h263", "-g", "12", "-q:v", "4"], audio: ["-c:a", "aac", "-ar", "8000", "-ac", "1"],
             size: "176x144"),
        Case(name: "MP4 H.264 variable frame rate", file: "vfr.mp4", video: [], audio: [], variableRate: true),
    ]

    /// Writes the case's clip into `directory` and returns its path.
    public static func write(_ c: Case, into directory: String) throws -> String {
        let path = "\(directory)/\(c.file)"
        if c.variableRate {
            var o = SyntheticClip.Options()
            (o.frames, o.variableRate, o.keyframeInterval) = (90, true, 12)
            try SyntheticClip.write(path: path, options: o)
            return path
        }
        try ExternalTool.run("/usr/bin/ffmpeg", ["-v", "error", "-y",
                                                 "-f", "lavfi", "-i", "testsrc2=size=\(c.size):rate=\(c.rate):duration=\(c.seconds)",
                                                 "-f", "lavfi", "-i", "sine=frequency=440:duration=\(c.seconds)"]
                             + c.video + c.audio + c.extra + [path])
        return path
    }
}
