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
    /// past the shorter file counts as differing). Frames are compared by digest as they decode, so
    /// long outputs need no memory for their frames.
    public static func differingFrames(_ path: String, from reference: String) throws -> [Int] {
        let (a, b) = (try frameDigests(path), try frameDigests(reference))
        let shared = zip(a, b).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        return shared + Array(min(a.count, b.count)..<max(a.count, b.count))
    }

    /// The lowest PSNR (dB) between the frames of `path` and `reference` (infinity when every frame
    /// is identical), and the two frame counts. Digests first, then only the differing frames are
    /// decoded into memory, so hours of video compare in the memory of a few frames.
    public static func worstPSNR(_ path: String, from reference: String) throws -> (psnr: Double, frames: Int, referenceFrames: Int) {
        let (a, b) = (try frameDigests(path), try frameDigests(reference))
        let differing = Set(zip(a, b).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset))
        guard !differing.isEmpty else { return (.infinity, a.count, b.count) }
        func pick(_ file: String) throws -> [Int: VideoFrame] {
            var out: [Int: VideoFrame] = [:], n = 0
            try SegmentDecoder(path: file, workingPixelFormat: "yuv420p").decodeAll { frame in
                if differing.contains(n) { out[n] = frame }
                n += 1
            }
            return out
        }
        let (x, y) = (try pick(path), try pick(reference))
        let worst = try differing.map { i in try PictureQuality.psnr(x[i]!, y[i]!) }.min() ?? .infinity
        return (worst, a.count, b.count)
    }

    /// One digest per decoded frame (pixels and pts), comparable within this process.
    public static func frameDigests(_ path: String) throws -> [Int] {
        let decoder = try SegmentDecoder(path: path, workingPixelFormat: "yuv420p")
        var digests: [Int] = []
        try decoder.decodeAll { frame in
            var h = Hasher()
            h.combine(frame.pts)
            frame.data.withUnsafeBytes { h.combine(bytes: $0) }
            digests.append(h.finalize())
        }
        return digests
    }
}
