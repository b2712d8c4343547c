/// How a source's frames are scanned, from the stream's field order (MediaProbe).
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
    /// Deinterlace (at frame rate) when the stream says it is interlaced; progressive and
    /// unmarked sources pass untouched. The default.
    case auto
    case off
    /// Always deinterlace at frame rate: one frame out per frame in (bwdif send_frame).
    case frame
    /// At field rate (twice the frames): not available yet, refused at ingest.
    case field

    /// The field order to deinterlace with, or nil to leave frames alone. Forced deinterlacing of a
    /// source that does not say assumes top field first.
    public func resolve(_ order: FieldOrder?) throws -> FieldOrder? {
        switch self {
        case .off: return nil
        case .auto: return order?.isInterlaced == true ? order : nil
        case .frame: return order?.isInterlaced == true ? order : .topFieldFirst
        case .field: throw SpecError("\"deinterlace\": \"field\" (double-rate) is not supported yet; use \"frame\" or \"auto\"")
        }
    }
}
