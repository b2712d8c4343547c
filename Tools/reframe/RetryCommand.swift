import ArgumentParser
import Core
import Foundation
import Pipeline
import Store

/// `reframe retry ID`: re-runs a failed job's failed chunks from their last stored input.
struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Retry the failed chunks (and finalize) of a job.")
    @Argument(help: "Job id.") var id: String
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let jobId = id.lowercased()
        let jobs = try cluster.jobs()
        guard let record = try await jobs.job(jobId), let plan = record.plan else { throw ValidationError("no plan for job \(id)") }
        guard record.state == .failed else { throw ValidationError("job \(id) is \(record.state.rawValue); only failed jobs are retried") }
        let messages = RetryPlanner.messages(jobId: jobId, plan: plan, states: try await jobs.chunkStates(jobId))
        guard !messages.isEmpty else { throw ValidationError("job \(id) has no failed chunk to retry") }
        try await jobs.setState(jobId, .running, error: "")
        let bus = try cluster.bus()
        for m in messages { try await bus.publish(Array(try m.encoded()), to: bus.names.queue(m.stage.rawValue)) }
        await bus.close()
        print("requeued \(messages.count) message(s) for job \(id)")
    }
}

/// Works out which messages re-run a job's failures: a failed segment is extracted again; a failed
/// chunk stage runs again from the previous stage's output (kept, since inputs are deleted only
/// after success); if nothing failed but everything is encoded, finalize runs again.
enum RetryPlanner {
    static func messages(jobId: String, plan: JobPlan, states: [String: ChunkState]) -> [StageMessage] {
        let hops = plan.hopsAfterExtract
        let refs = Dictionary(plan.segments.compactMap { states["s\($0.index):extract"]?.chunks }.joined().map { ($0.index, $0) },
                              uniquingKeysWith: { a, _ in a })
        var out: [StageMessage] = []
        for (field, state) in states where state.state == .failed {
            let parts = field.split(separator: ":")
            guard parts.count == 2, let stage = Stage(rawValue: String(parts[1])) else { continue }
            if parts[0].hasPrefix("s"), let segment = Int(parts[0].dropFirst()) {
                out.append(StageMessage(jobId: jobId, stage: .extract, segment: segment, next: hops))
            } else if let index = Int(parts[0]), let ref = refs[index], let position = hops.firstIndex(of: stage) {
                let previous = position == 0 ? Stage.extract : hops[position - 1]
                out.append(StageMessage(jobId: jobId, stage: stage, chunk: ref, input: Keys.chunk(jobId, stage: previous, chunk: index),
                                        next: Array(hops[(position + 1)...])))
            }
        }
        if out.isEmpty {
            let all = plan.segments.compactMap { states["s\($0.index):extract"]?.chunks }.joined()
            if !all.isEmpty, all.allSatisfy({ states[Keys.chunkField($0.index, .encode)]?.state == .done }) {
                out.append(StageMessage(jobId: jobId, stage: .finalize))
            }
        }
        return out
    }
}

/// `reframe dlq`: shows dead-lettered messages with their reasons.
struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dlq", abstract: "Show (or purge) dead-lettered messages.")
    @Option(help: "At most this many.") var limit = 100
    @Flag(help: "Remove them instead of putting them back.") var purge = false
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let bus = try cluster.bus()
        let dead = try await bus.drainDeadLetters(limit: limit)
        for d in dead {
            print("\(d.sourceQueue)\t\(d.reason)\t\(String(decoding: d.body.prefix(300), as: UTF8.self))")
            if !purge { try await bus.publish(d.body, to: bus.names.deadLetterQueue, headers: ["x-reframe-error": d.reason]) }
        }
        print("\(dead.count) dead letter(s)\(purge ? " purged" : "")")
        await bus.close()
    }
}
