/// The small record stored beside a chunk's frames: geometry, timing and scene flags.
public struct ChunkManifest: Codable, Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Pixel format name as libav spells it (e.g. "yuv420p", "rgb24").
    public var pixelFormat: String
    public var timeBase: Rational
    /// Per-frame presentation times; includes the lookahead frame when `lookahead` is true.
    public var pts: [Int64]
    /// `sceneCut[i]`: frame i starts a new scene (differs sharply from frame i−1).
    public var sceneCut: [Bool]
    /// `duplicate[i]`: frame i repeats frame i−1 (see DuplicateDetector); nil when not detected.
    public var duplicate: [Bool]?
    public var lookahead: Bool
    /// End of the chunk's time span: the lookahead's pts, or the end of the video for the last chunk.
    public var endPts: Int64

    public init(width: Int, height: Int, pixelFormat: String, timeBase: Rational, pts: [Int64], sceneCut: [Bool],
                duplicate: [Bool]? = nil, lookahead: Bool, endPts: Int64) {
        self.width = width
        self.height = height
        self.pixelFormat = pixelFormat
        self.timeBase = timeBase
        self.pts = pts
        self.sceneCut = sceneCut
        self.duplicate = duplicate
        self.lookahead = lookahead
        self.endPts = endPts
    }

    /// Frames stored under the chunk key, lookahead included.
    public var storedFrames: Int { pts.count }
    /// Frames the chunk owns (lookahead excluded).
    public var ownFrames: Int { lookahead ? pts.count - 1 : pts.count }
}
