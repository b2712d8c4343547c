import Media

/// Decoded pictures of two outputs compared frame by frame: how the tests and `reframe bench faults`
/// tell that a run under faults produced exactly what a fault-free run did.
public enum FrameComparison {
    public static func frames(_ path: String) throws -> [VideoFrame] {
        let decoder = try SegmentDecoder(path: path, workingPixelFormat: "yuv420p")
        var frames: [VideoFrame] = []
        try decoder.decodeAll { frames.append($0) }
        return frames
    }

    /// Indices of the frames of `path` whose pixels or times differ from `reference`'s (every index
    /// past the shorter file counts as differing).
    public static func differingFrames(_ path: String, from reference: String) throws -> [Int] {
        let (a, b) = (try frames(path), try frames(reference))
        let shared = zip(a, b).enumerated().filter { $0.element.0.data != $0.element.1.data || $0.element.0.pts != $0.element.1.pts }.map(\.offset)
        return shared + Array(min(a.count, b.count)..<max(a.count, b.count))
    }
}
