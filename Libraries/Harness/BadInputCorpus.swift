import Core
import Foundation

/// Issue 11's corpus of bad inputs: broken, hostile or merely unsuitable sources, specs and
/// messages, each with the exact error the pipeline must answer with.
public enum BadInputCorpus {
    public struct Case: Sendable {
        public var name: String
        /// The queue it is published to (ingest for specs).
        public var queue: Stage
        public var body: [UInt8]
        public var expected: String
    }

    /// Where the good job among the bad ones writes (its pictures are checked).
    public static let goodOutput = "good-x2.mp4"

    static func spec(_ source: String, output: String? = nil, _ extra: String = #""upscale": {"factor": 2}"#) -> [UInt8] {
        let out = output.map { #", "output": "\#($0)""# } ?? ""
        return Array(#"{"version": 1, "source": "\#(source)"\#(out), \#(extra)}"#.utf8)
    }

    public static let cases: [Case] = {
        var c: [Case] = []
        func source(_ name: String, _ file: String, _ expected: String, _ extra: String = #""upscale": {"factor": 2}"#) {
            c.append(Case(name: name, queue: .ingest, body: spec(file, extra), expected: expected))
        }
        source("empty file", "empty.mp4", "source 'empty.mp4' is empty (0 bytes); was it copied completely?")
        source("random bytes", "random.mp4", "random.mp4 is not a media file FFmpeg can read (damaged, cut short at its start, or not audio/video at all)")
        source("text named .mp4", "text.mp4", "text.mp4 is not a media file FFmpeg can read (damaged, cut short at its start, or not audio/video at all)")
        source("truncated header", "truncated-header.mp4", "truncated-header.mp4 has no video stream (an audio-only file, or one whose header is damaged); give a video file")
        source("truncated mid-stream", "truncated-middle.mp4", "truncated-middle.mp4 is truncated: its header lists 50 video frames but only 25 are in the file; copy it again or repair it")
        source("corrupt packets mid-stream", "corrupt-middle.ts", "done")
        source("audio only", "audio-only.m4a", "audio-only.m4a has no video stream (an audio-only file, or one whose header is damaged); give a video file")
        source("still image", "still.png", "still.png is a still image (png), not a video; Reframe enhances videos")
        source("unsupported codec", "unknown-codec.avi", "unknown-codec.avi: this FFmpeg build has no decoder for its video codec (none, FourCC 'QZQZ'); convert it to a common codec first")
        source("zero-length video", "no-frames.mp4", "no-frames.mp4 has no video stream (an audio-only file, or one whose header is damaged); give a video file")
        source("one frame", "one-frame.mp4", "done")
        source("absurd dimensions", "wide.mkv", "source is 5000×16; the limit is 4096×4096")
        source("absurd frame rate", "fast.mp4", "source runs at 5000 fps; the limit is 1000 fps — its header is probably wrong: remux it with the real rate")
        source("huge duration", "long.mkv", "source lasts 18001 s; the limit is 14400 s — cut it into parts")
        source("parent directory", "../outside.mp4", "'source' must not contain '..': ../outside.mp4")
        source("absolute path", "/etc/hostname", "'source' must be relative to the media root, not absolute: /etc/hostname")
        source("symlink out of the root", "escape.mp4", "'source' resolves outside the media root: escape.mp4")
        source("directory", "folder", "source 'folder' is a directory, not a video file")
        source("fifo", "fifo.mp4", "source 'fifo.mp4' is a FIFO, not a video file")
        source("missing file", "nothing-here.mp4", "source 'nothing-here.mp4' does not exist or is not readable")
        func body(_ name: String, _ text: String, _ expected: String) {
            c.append(Case(name: name, queue: .ingest, body: Array(text.utf8), expected: expected))
        }
        body("malformed JSON", #"{"version": 1, "source": "#, "spec is not valid JSON: Unexpected end of file during JSON parse.")
        body("not an object", #"[1, 2]"#, "spec must be a JSON object")
        body("wrong type", #"{"version": 1, "source": 5}"#, "field 'source' must be a string")
        body("unknown field", #"{"version": 1, "source": "good.mp4", "upscale": {"factor": 2}, "sharpen": true}"#, "unknown field 'sharpen'; allowed: audio, deinterlace, encode, interpolate, output, priority, source, upscale, version")
        body("missing version", #"{"source": "good.mp4", "upscale": {"factor": 2}}"#, "missing field 'version' (use 1)")
        body("future version", #"{"version": 2, "source": "good.mp4", "upscale": {"factor": 2}}"#, "unsupported version 2; this ingest accepts version 1")
        body("nothing to do", #"{"version": 1, "source": "good.mp4"}"#, "nothing to do: give 'upscale', 'interpolate' or both")
        source("factor 0", "good.mp4", "upscale factor 0 not supported by 'lanczos'; use one of 2, 3, 4", #""upscale": {"factor": 0}"#)
        source("negative factor", "good.mp4", "interpolate factor -2 not supported by 'rife'; use 2, 4, 8", #""interpolate": {"factor": -2}"#)
        source("huge factor", "good.mp4", "upscale factor 1000 not supported by 'lanczos'; use one of 2, 3, 4", #""upscale": {"factor": 1000}"#)
        source("unknown model", "good.mp4", "unknown upscale model 'no-such-model'; available: lanczos, realesr-animevideov3, realesrgan-x4plus, waifu2x-photo", #""upscale": {"factor": 2, "model": "no-such-model"}"#)
        func output(_ name: String, _ out: String, _ expected: String) {
            c.append(Case(name: name, queue: .ingest, body: spec("good.mp4", output: out), expected: expected))
        }
        output("output overwrites the source", "good.mp4", "output 'good.mp4' is the source; name another file")
        output("output outside the root", "../out.mp4", "'output' must not contain '..': ../out.mp4")
        output("absolute output", "/tmp/out.mp4", "'output' must be relative to the media root, not absolute: /tmp/out.mp4")
        output("unsupported output extension", "out.xyz", "output 'out.xyz' must end in .mp4, .mkv or .mov")
        output("output is a directory", "folder.mp4", "output 'folder.mp4' is a directory; name a file to write")
        for stage in Stage.allCases where stage != .ingest {
            c.append(Case(name: "malformed body on \(stage.rawValue)", queue: stage, body: Array("{not json".utf8),
                          expected: "\(stage.rawValue): malformed message body (not a stage message: not JSON): {not json"))
        }
        c.append(Case(name: "oversized message on upscale", queue: .upscale,
                      body: Array(#"{"version": 1, "pad": "\#(String(repeating: "x", count: 100 << 10))"}"#.utf8),
                      expected: "upscale: message body is 102425 bytes; the limit is 65536"))
        c.append(Case(name: "a good job among them", queue: .ingest, body: spec("good.mp4", output: goodOutput), expected: "done"))
        // Not bad: a stream copy cut inside a GOP keeps the frames before the cut for decoding, and
        // its edit list tells the demuxer to discard them. Those count toward the header's frames.
        source("edit list discarding the start", "trimmed.mp4", "done")
        c.append(Case(name: "oversized spec", queue: .ingest, body: spec("good.mp4", #""upscale": {"factor": 2}, "pad": "\#(String(repeating: "x", count: 2 << 20))""#),
                      expected: "spec is 2097225 bytes; the limit is 65536 (a spec names files, it never carries them)"))
        return c
    }()

    /// Writes the files the cases name into the media root (with ffmpeg's CLI where a real file is needed).
    public static func writeFiles(into root: String) throws {
        let fm = FileManager.default
        func ffmpeg(_ args: [String]) throws { try ExternalTool.run("/usr/bin/ffmpeg", ["-v", "error", "-y"] + args) }
        let src = ["-f", "lavfi", "-i", "testsrc=size=320x180:rate=25:duration=2", "-f", "lavfi", "-i", "sine=duration=2"]
        try ffmpeg(src + ["-c:v", "libx264", "-g", "12", "-c:a", "aac", "-movflags", "+faststart", "\(root)/good.mp4"])
        try ffmpeg(src + ["-c:v", "mpeg2video", "-c:a", "mp2", "\(root)/good.ts"])
        try ffmpeg(["-ss", "0.3", "-i", "\(root)/good.mp4", "-c", "copy", "\(root)/trimmed.mp4"])
        let good = try Data(contentsOf: URL(fileURLWithPath: "\(root)/good.mp4"))
        let ts = try Data(contentsOf: URL(fileURLWithPath: "\(root)/good.ts"))
        fm.createFile(atPath: "\(root)/empty.mp4", contents: Data())
        var rng = SystemRandomNumberGenerator()
        fm.createFile(atPath: "\(root)/random.mp4", contents: Data((0..<65536).map { _ in UInt8.random(in: 0...255, using: &rng) }))
        fm.createFile(atPath: "\(root)/text.mp4", contents: Data("This is a shopping list, not a video.\n".utf8))
        fm.createFile(atPath: "\(root)/truncated-header.mp4", contents: good.prefix(300))
        fm.createFile(atPath: "\(root)/truncated-middle.mp4", contents: good.prefix(good.count / 2))
        var corrupt = ts
        let middle = corrupt.count / 2
        for i in middle..<(middle + 8192) { corrupt[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 7) }
        fm.createFile(atPath: "\(root)/corrupt-middle.ts", contents: corrupt)
        try ffmpeg(["-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac", "\(root)/audio-only.m4a"])
        try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=320x180", "-frames:v", "1", "\(root)/still.png"])
        try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=320x180:rate=25:duration=1", "-c:v", "mpeg4", "-vtag", "XVID", "\(root)/xvid.avi"])
        var avi = try Data(contentsOf: URL(fileURLWithPath: "\(root)/xvid.avi"))
        // A FourCC no decoder knows: the container is fine, the codec is not.
        for tag in [Data("XVID".utf8), Data("FMP4".utf8)] {
            var from = avi.startIndex
            while let r = avi.range(of: tag, in: from..<avi.endIndex) { avi.replaceSubrange(r, with: Data("QZQZ".utf8)); from = r.upperBound }
        }
        fm.createFile(atPath: "\(root)/unknown-codec.avi", contents: avi)
        try fm.removeItem(atPath: "\(root)/xvid.avi")
        try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=320x180:rate=25", "-frames:v", "0", "-c:v", "libx264", "\(root)/no-frames.mp4"])
        try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=320x180:rate=25", "-frames:v", "1", "-c:v", "libx264", "\(root)/one-frame.mp4"])
        try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=5000x16:rate=25", "-frames:v", "5", "-c:v", "ffv1", "\(root)/wide.mkv"])
        try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x64:rate=5000", "-frames:v", "50", "-c:v", "mpeg4", "\(root)/fast.mp4"])
        try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x64:rate=1", "-frames:v", "2", "-vf", "setpts=N*18000/TB", "-fps_mode", "passthrough",
                    "-c:v", "ffv1", "\(root)/long.mkv"])
        let outside = (root as NSString).deletingLastPathComponent + "/outside.mp4"
        if !fm.fileExists(atPath: outside) { try fm.copyItem(atPath: "\(root)/good.mp4", toPath: outside) }
        try fm.createSymbolicLink(atPath: "\(root)/escape.mp4", withDestinationPath: "/etc/hostname")
        try fm.createDirectory(atPath: "\(root)/folder", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: "\(root)/folder.mp4", withIntermediateDirectories: true)
        guard mkfifo("\(root)/fifo.mp4", 0o644) == 0 else { throw NSError(domain: "corpus", code: Int(errno)) }
    }
}
