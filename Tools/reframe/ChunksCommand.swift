import ArgumentParser
import Core
import Foundation
import Pipeline
import Store

/// `reframe chunks list|retry`: a job's chunks per stage, and re-running the failed ones.
struct Chunks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a job's chunks per stage, or retry failed ones.",
        discussion: "Exit codes: 0 ok, 2 no such job, 3 nothing to retry, 64 usage.",
        subcommands: [ChunksList.self, ChunksRetry.self], defaultSubcommand: ChunksList.self)
}

struct ChunksList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Every chunk's state per stage (done, failed, pending).")
    @Argument(help: "Job id.") var id: String
    @Option(help: "Only chunks in this state: done, failed or pending.") var state: ChunkRow.State?
    @Option(help: "Only this stage (extract, upscale, interpolate, encode).") var stage: Stage?
    @Flag(help: "Only failed chunks (same as --state failed).") var failed = false
    @Flag(help: "JSON lines for scripts.") var json = false
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let jobId = id.lowercased()
        let jobs = try cluster.jobs()
        guard let record = try await jobs.job(jobId), let plan = record.plan else { throw JobLookup.missing(id) }
        let wanted = failed ? .failed : state
        let rows = ChunkRow.rows(plan: plan, states: try await jobs.chunkStates(jobId))
            .filter { (wanted == nil || $0.state == wanted) && (stage == nil || $0.stage == stage) }
        for row in rows { print(json ? row.jsonLine : row.text) }
        if !json { print("\(rows.count) row(s); job \(record.state.rawValue)") }
    }
}

struct ChunksRetry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Run failed chunks again from their last stored input, or from a fresh extraction when it expired (then finalize).")
    @Argument(help: "Job id.") var id: String
    @Flag(help: "Every failed chunk and segment.") var failed = false
    @Option(name: .customLong("chunk"), help: "This chunk's failed stage (repeatable).") var chunks: [Int] = []
    @Option(help: "Only failures at this stage (extract, upscale, interpolate, encode, finalize).") var stage: Stage?
    @OptionGroup var cluster: ClusterOptions

    func validate() throws {
        guard failed != !chunks.isEmpty else { throw ValidationError("give --failed or --chunk N") }
    }

    func run() async throws {
        let selection = RetryPlanner.Selection(chunks: failed ? nil : Set(chunks), stage: stage)
        print(try await RetryPlanner.run(jobId: id.lowercased(), selection: selection, cluster: cluster))
    }
}

/// One line of `reframe chunks list`.
struct ChunkRow: Codable, Equatable {
    enum State: String, Codable, ExpressibleByArgument, CaseIterable { case done, failed, pending }
    var segment: Int?
    var chunk: Int?
    var stage: Stage
    var state: State
    var frames: Int
    var error: String?

    var text: String {
        let what = chunk.map { "chunk \($0)" } ?? "segment \(segment ?? 0)"
        return [what.padding(toLength: 14, withPad: " ", startingAt: 0), stage.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0),
                state.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0), "\(frames) frames", error ?? ""]
            .joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }

    var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Segments (extraction), then each known chunk at each stage after extraction, in order; a stage
    /// without a record is pending.
    static func rows(plan: JobPlan, states: [String: ChunkState]) -> [ChunkRow] {
        func row(_ field: String, segment: Int?, chunk: Int?, stage: Stage) -> ChunkRow {
            let s = states[field]
            let state: State = s.map { $0.state == .done ? .done : .failed } ?? .pending
            return ChunkRow(segment: segment, chunk: chunk, stage: stage, state: state, frames: s?.frames ?? 0, error: s?.error)
        }
        var out = plan.segments.map { row(Keys.segmentField($0.index), segment: $0.index, chunk: nil, stage: .extract) }
        let refs = plan.segments.compactMap { states[Keys.segmentField($0.index)]?.chunks }.joined().sorted { $0.index < $1.index }
        for ref in refs {
            for stage in plan.hopsAfterExtract { out.append(row(Keys.chunkField(ref.index, stage), segment: nil, chunk: ref.index, stage: stage)) }
        }
        return out
    }
}

extension Stage: ExpressibleByArgument {}

enum JobLookup {
    static func missing(_ id: String) -> Error {
        FileHandle.standardError.write(Data("reframe: no job \(id) (unknown, not yet ingested, or expired)\n".utf8))
        return ExitCode(2)
    }
}
