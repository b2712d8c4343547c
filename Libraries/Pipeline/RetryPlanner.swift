import Core
import Foundation
import Messaging
import Store

/// Works out which messages re-run a job's failures: a failed segment is extracted again; a failed
/// chunk stage runs again from the previous stage's output (kept, since inputs are deleted only
/// after success) or, when that output has expired, from a fresh extraction of just that chunk
/// through every hop before the failed one; if nothing failed but everything is encoded, finalize
/// runs again.
public enum RetryPlanner {
    public struct Item: Sendable {
        /// The failed state to clear first (nil for finalize).
        public var field: String?
        public var message: StageMessage
        /// Done marks of earlier hops to forget, so those stages run again (after a re-extraction).
        public var forget: [String] = []
    }

    /// Which failures to retry: `chunks` (nil: every one), only at `stage` (nil: any).
    public struct Selection: Sendable {
        public var chunks: Set<Int>?
        public var stage: Stage?
        public init(chunks: Set<Int>? = nil, stage: Stage? = nil) {
            self.chunks = chunks
            self.stage = stage
        }
        public static let everything = Selection()
    }

    public enum Refusal: Error, CustomStringConvertible, Sendable {
        case noSuchJob(String)
        case notRetryable(String, JobState)
        case nothingToRetry(String)
        public var description: String {
            switch self {
            case .noSuchJob(let id): return "no job \(id) (unknown, not yet ingested, or expired)"
            case .notRetryable(let id, let state): return "job \(id) is \(state.rawValue); only failed or running jobs are retried"
            case .nothingToRetry(let id): return "job \(id) has no failed chunk to retry"
            }
        }
    }

    public static func items(jobId: String, plan: JobPlan, states: [String: ChunkState], selection: Selection = .everything) -> [Item] {
        let hops = plan.hopsAfterExtract
        var out: [Item] = []
        for (field, state) in states.sorted(by: { $0.key < $1.key }) where state.state == .failed {
            guard let name = ChunkFieldName(field), selection.stage.map({ $0 == name.stage }) ?? true else { continue }
            switch name {
            case .segment(let segment) where selection.chunks == nil:
                out.append(Item(field: field, message: StageMessage(jobId: jobId, stage: .extract, segment: segment, next: hops)))
            case .chunk(let index, let stage) where selection.chunks?.contains(index) ?? true:
                guard let (_, ref) = chunk(index, plan: plan, states: states), let position = hops.firstIndex(of: stage) else { continue }
                let previous = position == 0 ? Stage.extract : hops[position - 1]
                out.append(Item(field: field, message: StageMessage(jobId: jobId, stage: stage, chunk: ref,
                                                                    input: Keys.chunk(jobId, stage: previous, chunk: index),
                                                                    next: Array(hops[(position + 1)...]))))
            default:
                continue
            }
        }
        if out.isEmpty, selection.chunks == nil, selection.stage == nil || selection.stage == .finalize {
            let all = plan.segments.compactMap { states[Keys.segmentField($0.index)]?.chunks }.joined()
            if !all.isEmpty, all.allSatisfy({ states[Keys.chunkField($0.index, .encode)]?.state == .done }) {
                out.append(Item(field: nil, message: StageMessage(jobId: jobId, stage: .finalize)))
            }
        }
        return out
    }

    /// The item that re-runs a chunk item from a fresh extraction, when its input is gone.
    static func reExtracting(_ item: Item, plan: JobPlan, states: [String: ChunkState]) -> Item? {
        let m = item.message
        guard let ref = m.chunk, let (segment, _) = chunk(ref.index, plan: plan, states: states),
              let position = plan.hopsAfterExtract.firstIndex(of: m.stage) else { return nil }
        let earlier = plan.hopsAfterExtract[..<position].map { Keys.chunkField(ref.index, $0) }
        return Item(field: item.field, message: StageMessage(jobId: m.jobId, stage: .extract, segment: segment, chunk: ref, next: plan.hopsAfterExtract),
                    forget: earlier)
    }

    /// A chunk's segment and reference, from its segment's recorded cut.
    private static func chunk(_ index: Int, plan: JobPlan, states: [String: ChunkState]) -> (Int, ChunkRef)? {
        for segment in plan.segments {
            if let ref = states[Keys.segmentField(segment.index)]?.chunks?.first(where: { $0.index == index }) { return (segment.index, ref) }
        }
        return nil
    }

    /// Clears the failures (and their counts), marks the job running again and publishes the
    /// messages; returns them.
    public static func requeue(jobId: String, selection: Selection, jobs: JobStore, bus: any MessageBus) async throws -> [Item] {
        guard let record = try await jobs.job(jobId), let plan = record.plan else { throw Refusal.noSuchJob(jobId) }
        guard record.state == .failed || record.state == .running else { throw Refusal.notRetryable(jobId, record.state) }
        let states = try await jobs.chunkStates(jobId)
        var items: [Item] = []
        for item in Self.items(jobId: jobId, plan: plan, states: states, selection: selection) {
            // Stored frames expire (DESIGN.md §5): a chunk whose input is gone is extracted again.
            if let input = item.message.input, try await !jobs.chunkIsComplete(key: input),
               let again = reExtracting(item, plan: plan, states: states) {
                items.append(again)
            } else {
                items.append(item)
            }
        }
        guard !items.isEmpty else { throw Refusal.nothingToRetry(jobId) }
        for item in items {
            for field in item.forget { try await jobs.forgetDone(jobId, field: field) }
            if let field = item.field { try await jobs.clearFailure(jobId, field: field) }
        }
        try await jobs.setState(jobId, .running, error: "")
        for item in items { try await bus.publish(Array(try item.message.encoded()), to: bus.names.queue(item.message.stage.rawValue)) }
        return items
    }

    /// What `retry` prints: how many messages, and which chunks start again from extraction.
    public static func summary(_ items: [Item], jobId: String) -> String {
        let fresh = items.filter { $0.message.stage == .extract && $0.message.chunk != nil }.compactMap { $0.message.chunk?.index }
        let note = fresh.isEmpty ? "" : " (re-extracting chunk\(fresh.count == 1 ? "" : "s") \(fresh.map(String.init).joined(separator: ", ")): stored frames expired)"
        return "requeued \(items.count) message(s) for job \(jobId)\(note)"
    }
}
