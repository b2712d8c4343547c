import Foundation

/// Three known subtitle cues, written and read back as SRT with the ffmpeg command line: the subtitle
/// tests compare a file's cues, texts and times to the millisecond, with these.
public enum SubtitleCues {
    /// Start and end in ms; one cue has two lines.
    public static let cues: [(start: Int, end: Int, text: String)] = [
        (500, 1250, "First cue"), (1500, 2000, "Second cue, two lines\nand the second"), (2250, 2900, "Third cue"),
    ]

    /// The cues as ffmpeg's SRT writer prints them, every time multiplied by `factor` (slow motion).
    public static func srt(timesMultipliedBy factor: Int = 1) -> String {
        func time(_ ms: Int) -> String {
            let t = ms * factor
            return String(format: "%02d:%02d:%02d,%03d", t / 3_600_000, t / 60000 % 60, t / 1000 % 60, t % 1000)
        }
        return cues.enumerated().map { "\($0.offset + 1)\n\(time($0.element.start)) --> \(time($0.element.end))\n\($0.element.text)\n\n" }.joined()
    }

    /// Writes `srt()` to a file, for ffmpeg to mux into a source.
    public static func writeSRT(in directory: String) throws -> String {
        let path = "\(directory)/cues.srt"
        try srt().write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The file's first subtitle track as ffmpeg's SRT writer prints it (which breaks a cue's lines with
    /// CRLF, read here as LF).
    public static func read(_ path: String) throws -> String {
        try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-i", path, "-map", "0:s:0", "-f", "srt", "-"])
            .replacingOccurrences(of: "\r\n", with: "\n")
    }

    /// `codec_name`, `default` disposition and `language` of each subtitle stream, as ffprobe reads them.
    public static func streams(_ path: String) throws -> [[String]] {
        let csv = try MediaChecks.run("/usr/bin/ffprobe", ["-v", "error", "-select_streams", "s", "-show_entries",
                                                           "stream=codec_name:stream_tags=language:stream_disposition=default",
                                                           "-of", "csv=p=0", path])
        return csv.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
    }
}
