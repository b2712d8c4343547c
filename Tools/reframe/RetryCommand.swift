import ArgumentParser
import Core
import Foundation
import Messaging
import Pipeline
import Store

/// `reframe retry ID`: `reframe chunks retry ID --failed`, kept for scripts that use it.
struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Retry the failed chunks (and finalize) of a job.")
    @Argument(help: "Job id.") var id: String
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let n = try await RetryPlanner.requeue(jobId: id.lowercased(), only: nil, cluster: cluster)
        print("requeued \(n) message(s) for job \(id)")
    }
}

/// Works out which messages re-run a job's failures: a failed segment is extracted again; a failed
/// chunk stage runs again from the previous stage's output (kept, since inputs are deleted only
/// after success); if nothing failed but everything is encoded, finalize runs again.
enum RetryPlanner {
    struct Item {
        /// The failed state to clear first (nil for finalize).
        var field: String?
        var message: StageMessage
    }

    /// `only`: chunk numbers to retry (nil: every failure).
    static func items(jobId: String, plan: JobPlan, states: [String: ChunkState], only: Set<Int>? = nil) -> [Item] {
        let hops = plan.hopsAfterExtract
        let refs = Dictionary(plan.segments.compactMap { states[Keys.segmentField($0.index)]?.chunks }.joined().map { ($0.index, $0) },
                              uniquingKeysWith: { a, _ in a })
        var out: [Item] = []
        for (field, state) in states.sorted(by: { $0.key < $1.key }) where state.state == .failed {
            switch ChunkFieldName(field) {
            case .segment(let segment)? where only == nil:
                out.append(Item(field: field, message: StageMessage(jobId: jobId, stage: .extract, segment: segment, next: hops)))
            case .chunk(let index, let stage)? where only?.contains(index) ?? true:
                guard let ref = refs[index], let position = hops.firstIndex(of: stage) else { continue }
                let previous = position == 0 ? Stage.extract : hops[position - 1]
                out.append(Item(field: field, message: StageMessage(jobId: jobId, stage: stage, chunk: ref,
                                                                    input: Keys.chunk(jobId, stage: previous, chunk: index),
                                                                    next: Array(hops[(position + 1)...]))))
            default:
                continue
            }
        }
        if out.isEmpty, only == nil {
            let all = plan.segments.compactMap { states[Keys.segmentField($0.index)]?.chunks }.joined()
            if !all.isEmpty, all.allSatisfy({ states[Keys.chunkField($0.index, .encode)]?.state == .done }) {
                out.append(Item(field: nil, message: StageMessage(jobId: jobId, stage: .finalize)))
            }
        }
        return out
    }

    /// Clears the failures (and their counts), marks the job running again and publishes the
    /// messages; returns how many. Exit 2: no such job; 3: nothing to retry.
    static func requeue(jobId: String, only: Set<Int>?, cluster: ClusterOptions) async throws -> Int {
        let jobs = try cluster.jobs()
        guard let record = try await jobs.job(jobId), let plan = record.plan else { throw JobLookup.missing(jobId) }
        guard record.state == .failed || record.state == .running else {
            throw ValidationError("job \(jobId) is \(record.state.rawValue); only failed or running jobs are retried")
        }
        let items = items(jobId: jobId, plan: plan, states: try await jobs.chunkStates(jobId), only: only)
        guard !items.isEmpty else {
            FileHandle.standardError.write(Data("reframe: job \(jobId) has no failed chunk to retry\n".utf8))
            throw ExitCode(3)
        }
        for item in items { if let field = item.field { try await jobs.clearFailure(jobId, field: field) } }
        try await jobs.setState(jobId, .running, error: "")
        let bus = try cluster.bus()
        for item in items { try await bus.publish(Array(try item.message.encoded()), to: bus.names.queue(item.message.stage.rawValue)) }
        await bus.close()
        return items.count
    }
}
