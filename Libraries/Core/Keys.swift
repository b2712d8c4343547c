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
    public static let clusterInFlight = "reframe:inflight"
    /// Sorted set of job ids by creation time, for listing.
    public static let jobIndex = "reframe:jobs"
    /// Chunk-state field for one stage.
    public static func chunkField(_ chunk: Int, _ stage: Stage) -> String { "\(chunk):\(stage.rawValue)" }
}
