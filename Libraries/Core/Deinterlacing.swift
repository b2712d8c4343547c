/// How a source's frames are scanned, from the stream's field order (MediaProbe) or, where the
/// stream does not mark it, from a sample analysed at ingest (`InterlaceDetection`).
public enum FieldOrder: String, Codable, Sendable {
    case progressive
    /// Interlaced, top field first (most PAL DVB/DVD, HD broadcast).
    case topFieldFirst = "tff"
    /// Interlaced, bottom field first (DV, some NTSC).
    case bottomFieldFirst = "bff"
    /// The stream does not say.
    case unknown

    public var isInterlaced: Bool { self == .topFieldFirst || self == .bottomFieldFirst }
}

/// The spec's `deinterlace` field: what to do with interlaced sources before any other stage
/// (upscaling or interpolating combed frames would enlarge and smear the combing).
public enum DeinterlaceMode: String, Codable, Sendable {
    /// Deinterlace (at frame rate) when the stream says it is interlaced or a sample of it was
    /// found interlaced at ingest; progressive and undecided sources pass untouched. The default.
    case auto
    case off
    /// Always deinterlace at frame rate: one frame out per frame in (bwdif send_frame).
    case frame
    /// Always deinterlace at field rate: one frame out per field (bwdif send_field), twice the
    /// frames and the frame rate (50p from 25i) — every moment the camera captured is kept.
    case field

    /// The field order to deinterlace with, or nil to leave frames alone. Forced deinterlacing of a
    /// source that does not say (and was not found interlaced) assumes top field first.
    public func resolve(_ order: FieldOrder?) -> FieldOrder? {
        switch self {
        case .off: return nil
        case .auto: return order?.isInterlaced == true ? order : nil
        case .frame, .field: return order?.isInterlaced == true ? order : .topFieldFirst
        }
    }

    /// Whether a source deinterlaced in this mode yields one frame per field.
    public var isFieldRate: Bool { self == .field }
}

/// What libavfilter's `idet` said of a sample of a source whose stream does not mark it interlaced:
/// its multi-frame counts (each frame's verdict smoothed over its neighbours', so single noisy
/// frames do not flip it) over the first `frames` decoded frames.
public struct InterlaceDetection: Codable, Sendable, Equatable {
    public var frames: Int
    public var topFieldFirst: Int
    public var bottomFieldFirst: Int
    public var progressive: Int
    public var undetermined: Int

    public init(frames: Int, topFieldFirst: Int, bottomFieldFirst: Int, progressive: Int, undetermined: Int) {
        self.frames = frames
        self.topFieldFirst = topFieldFirst
        self.bottomFieldFirst = bottomFieldFirst
        self.progressive = progressive
        self.undetermined = undetermined
    }

    /// Fewest decided frames (not `undetermined`) a verdict needs: a short or mostly still sample
    /// says too little either way.
    public static let minimumDecided = 10

    /// Interlaced with a parity only on a clear majority: that parity must make up at least two
    /// thirds of the decided frames. Both wrong answers cost picture — deinterlacing progressive
    /// frames throws away vertical detail, leaving interlaced ones alone enlarges their combing — so
    /// an unclear sample leaves the source as its stream describes it (`nil`). Two thirds because
    /// progressive pictures with fine horizontal lines fool idet's per-frame test into both
    /// parities about equally (a progressive `testsrc2` reads about 48 TFF / 44 BFF / 8 progressive
    /// in 100 frames), while woven fields read as one parity nearly every frame. Still scenes in
    /// an interlaced source read as progressive, so a mostly still sample stays undecided or
    /// progressive: the forced modes (`frame`, `field`) are there for those.
    public var verdict: FieldOrder? {
        let decided = topFieldFirst + bottomFieldFirst + progressive
        guard decided >= Self.minimumDecided else { return nil }
        func clear(_ count: Int) -> Bool { 3 * count >= 2 * decided }
        if clear(topFieldFirst) { return .topFieldFirst }
        if clear(bottomFieldFirst) { return .bottomFieldFirst }
        if clear(progressive) { return .progressive }
        return nil
    }
}
