import Core

/// Finds woven fields in a source whose stream does not mark it interlaced (H.264 coded
/// progressively from interlaced material, MJPEG or MPEG-4 ASP in AVI, which have no field flag):
/// libavfilter's `idet` over the first decoded frames.
public enum InterlaceDetector {
    /// How many frames from the start to analyse: 200 at SD (8 s of PAL, enough for idet's smoothed
    /// verdict to settle on moving pictures; about 1.4 s of ingest on a busy machine), fewer for
    /// larger pictures so any source costs ingest about the same — down to 50 (2 s of 25i) from
    /// 1080p on, where 200 frames took 7.7 s.
    public static func sampleFrames(width: Int, height: Int) -> Int {
        let budget = 200 * 720 * 576
        return min(200, max(50, budget / max(1, width * height)))
    }

    /// idet's multi-frame counts over the first `sampleFrames` frames (luma only: combing shows there).
    public static func detect(path: String, sampleFrames: Int) throws -> InterlaceDetection {
        let decoder = try SegmentDecoder(path: path, workingPixelFormat: "gray")
        var graph: FilterGraph?
        var counts: [String: String] = [:]
        var frames = 0
        func read(_ metadata: [[String: String]]) {
            // The counts are running totals: the last frame's are the sample's.
            if let last = metadata.last(where: { $0[Key.tff] != nil }) { counts = last }
        }
        do {
            try decoder.decodeAll { frame in
                if graph == nil {
                    graph = try FilterGraph(filters: "idet", width: frame.width, height: frame.height, pixelFormat: frame.pixelFormat,
                                            timeBase: Rational(1, 25))
                }
                var numbered = frame
                numbered.pts = Int64(frames)  // idet only needs them increasing
                try graph!.push(numbered)
                read(try graph!.pullMetadata())
                frames += 1
                if frames >= sampleFrames { throw Enough() }
            }
        } catch is Enough {}
        if let graph {
            try graph.finish()
            read(try graph.pullMetadata())
        }
        // Written as fixed-point text ("120.00").
        func count(_ key: String) -> Int { counts[key].flatMap { Double($0) }.map { Int($0.rounded()) } ?? 0 }
        return InterlaceDetection(frames: frames, topFieldFirst: count(Key.tff), bottomFieldFirst: count(Key.bff),
                                  progressive: count(Key.progressive), undetermined: count(Key.undetermined))
    }

    /// `video` as probed, judged from a sample where its stream does not mark it interlaced:
    /// `interlaceDetection` holds the counts and a clear verdict replaces `fieldOrder`.
    public static func classify(_ video: VideoInfo, path: String) throws -> VideoInfo {
        guard video.fieldOrder?.isInterlaced != true else { return video }
        var judged = video
        let detection = try detect(path: path, sampleFrames: sampleFrames(width: video.width, height: video.height))
        judged.interlaceDetection = detection
        if let verdict = detection.verdict { judged.fieldOrder = verdict }
        return judged
    }

    private struct Enough: Error {}

    private enum Key {
        static let tff = "lavfi.idet.multiple.tff"
        static let bff = "lavfi.idet.multiple.bff"
        static let progressive = "lavfi.idet.multiple.progressive"
        static let undetermined = "lavfi.idet.multiple.undetermined"
    }
}
