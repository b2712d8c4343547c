import Core

/// The job's counters (fields of its job hash, DESIGN.md §5 "counts per stage"): kept in the same
/// atomic step that records a chunk state, so "is every chunk encoded?" is a read of five numbers
/// instead of the whole chunk hash after every encode.
public struct JobCounts: Sendable, Equatable {
    public var segmentsExtracted = 0
    public var segmentsFailed = 0
    /// Chunks the extracted segments were cut into.
    public var chunksPlanned = 0
    public var chunksEncoded = 0
    /// Chunks that failed at some stage (each stops there, so each is counted once).
    public var chunksFailed = 0
    /// Finalize runs that completed (marked the job done): 1 for a finished job; more would mean
    /// the output was written again after the job was done.
    public var finalized = 0

    public init() {}

    enum Field: String, CaseIterable {
        case segmentsExtracted = "count:segments-extracted"
        case segmentsFailed = "count:segments-failed"
        case chunksPlanned = "count:chunks-planned"
        case chunksEncoded = "count:chunks-encoded"
        case chunksFailed = "count:chunks-failed"
        case finalized = "count:finalized"
    }

    init(hash: [String: [UInt8]]) {
        func n(_ f: Field) -> Int { hash[f.rawValue].flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0 }
        segmentsExtracted = n(.segmentsExtracted)
        segmentsFailed = n(.segmentsFailed)
        chunksPlanned = n(.chunksPlanned)
        chunksEncoded = n(.chunksEncoded)
        chunksFailed = n(.chunksFailed)
        finalized = n(.finalized)
    }

    /// What recording `state` under `field` adds, and under which marker (done and failed count apart,
    /// so a chunk retried after failing is counted again once it succeeds). Nil: nothing to count.
    static func increments(field: String, state: ChunkState) -> (marker: String, increments: [String: Int64])? {
        guard let name = ChunkFieldName(field) else { return nil }
        switch (name, state.state) {
        case (.segment, .done):
            return (field, [Field.segmentsExtracted.rawValue: 1, Field.chunksPlanned.rawValue: Int64(state.chunks?.count ?? 0)])
        case (.segment, .failed):
            return ("failed:\(field)", [Field.segmentsFailed.rawValue: 1])
        case (.chunk(_, .encode), .done):
            return (field, [Field.chunksEncoded.rawValue: 1])
        case (.chunk, .failed):
            return ("failed:\(field)", [Field.chunksFailed.rawValue: 1])
        case (.chunk, .done):
            return nil
        }
    }

    public var failures: Int { segmentsFailed + chunksFailed }

    /// Every segment extracted and every chunk encoded, nothing failed: finalize may run.
    public func allEncoded(segments: Int) -> Bool {
        failures == 0 && segmentsExtracted == segments && chunksEncoded >= chunksPlanned
    }

    /// Every segment and chunk reached an end and some failed: the job can only end failed.
    public func settledWithFailures(segments: Int) -> Bool {
        failures > 0 && segmentsExtracted + segmentsFailed >= segments && chunksEncoded + chunksFailed >= chunksPlanned
    }
}
