/// Redis key layout (DESIGN.md §5), in one place.
public enum Keys {
    public static func job(_ id: String) -> String { "reframe:job:\(id)" }
    public static func chunks(_ id: String) -> String { "reframe:job:\(id):chunks" }
    public static func finalizeLock(_ id: String) -> String { "reframe:job:\(id):finalize-lock" }
    /// Which chunk's encoder announced finalize.
    public static func finalizeClaim(_ id: String) -> String { "reframe:job:\(id):finalize-claim" }
    public static func framesPrefix(_ id: String) -> String { "reframe:frames:\(id):" }
    /// A chunk's manifest key; its frames are `<chunk key>:<n>`.
    public static func chunk(_ id: String, stage: Stage, chunk: Int) -> String { "reframe:frames:\(id):\(stage.rawValue):\(chunk)" }
    public static func frame(_ chunkKey: String, _ n: Int) -> String { "\(chunkKey):\(n)" }
    /// An encoded segment made by the Assembler from one chunk.
    public static func encoded(_ id: String, chunk: Int) -> String { "reframe:frames:\(id):encoded:\(chunk)" }
    public static func inFlight(_ id: String) -> String { "reframe:inflight:\(id)" }
    /// An HTTP submission recorded but whose extract messages may not be published yet (value: when
    /// it began, Unix seconds). `submitting("")` is the prefix of them all.
    public static func submitting(_ id: String) -> String { "reframe:submitting:\(id)" }
    public static let clusterInFlight = "reframe:inflight"
    /// Sorted set of job ids by creation time, for listing.
    public static let jobIndex = "reframe:jobs"
    /// Chunk-state field for one stage.
    public static func chunkField(_ chunk: Int, _ stage: Stage) -> String { "\(chunk):\(stage.rawValue)" }
    /// Chunk-state field of an extracted segment (it lists the segment's chunks).
    public static func segmentField(_ segment: Int) -> String { "s\(segment):extract" }
    /// Which chunk-state fields were already counted in the job's counters (redeliveries count once).
    public static func countedFields(_ id: String) -> String { "reframe:job:\(id):counted" }
}

/// A chunk-state field read back: a segment's extraction or one chunk at one stage.
public enum ChunkFieldName: Equatable, Sendable {
    case segment(Int)
    case chunk(Int, Stage)

    public init?(_ field: String) {
        let parts = field.split(separator: ":")
        guard parts.count == 2, let stage = Stage(rawValue: String(parts[1])) else { return nil }
        if parts[0].hasPrefix("s"), let n = Int(parts[0].dropFirst()), stage == .extract { self = .segment(n) }
        else if let n = Int(parts[0]) { self = .chunk(n, stage) }
        else { return nil }
    }

    public var stage: Stage {
        switch self {
        case .segment: return .extract
        case .chunk(_, let s): return s
        }
    }
}
