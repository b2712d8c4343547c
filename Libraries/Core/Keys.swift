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
    /// Hash of the HTTP submissions recorded but whose extract messages may not be published yet:
    /// job id → when it began (Unix seconds).
    public static let submitting = "reframe:submitting"
    public static let clusterInFlight = "reframe:inflight"
    /// One tenant's job ids by creation time (Unix seconds), for the API's listing.
    public static func tenantJobs(_ tenant: String) -> String { "reframe:tenant:\(tenant):jobs" }
    /// Chunk-state field for one stage.
    public static func chunkField(_ chunk: Int, _ stage: Stage) -> String { "\(chunk):\(stage.rawValue)" }
    /// Chunk-state field of an extracted segment (it lists the segment's chunks).
    public static func segmentField(_ segment: Int) -> String { "s\(segment):extract" }
    /// Which chunk-state fields were already counted in the job's counters (redeliveries count once).
    public static func countedFields(_ id: String) -> String { "reframe:job:\(id):counted" }
    /// Frames finished so far inside chunks a stage is still working on, by chunk-state field: a
    /// display hint apart from the exact counts, deleted when the chunk is marked done.
    public static func framesInProgress(_ id: String) -> String { "reframe:job:\(id):in-progress" }
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
