import Core
import Foundation
import Logging
import Messaging
import Store

/// All five stages in one process over the in-memory bus and store — the same handlers and worker
/// loop as the services, not a second pipeline (DESIGN.md §8).
public final class EmbeddedPipeline: Sendable {
    public let bus: InMemoryBus
    public let store: InMemoryStore
    public let context: StageContext

    public init(mediaRoot: String, settings: StageSettings = StageSettings(), logger: Logger) {
        bus = InMemoryBus()
        store = InMemoryStore()
        context = StageContext(bus: bus, jobs: JobStore(kv: store), mediaRoot: mediaRoot, logger: logger, settings: settings)
    }

    /// Runs one job to completion, reporting progress about every `interval` seconds.
    /// Returns the job id; throws if the job failed (with its recorded error).
    public func run(spec: JobSpec, interval: Double = 0.5, progress: @Sendable (JobProgress) -> Void = { _ in }) async throws -> String {
        let id = UUID().uuidString.lowercased()
        let body = Array(try JSONEncoder().encode(spec))
        // Validate up front so a bad spec fails with its message instead of a dead letter.
        _ = try await IngestHandler.plan(id: id, specBody: body, context: context)
        let handlers: [any StageHandler] = [IngestHandler(), ExtractHandler(), UpscaleHandler(), InterpolateHandler(), EncodeHandler(), FinalizeHandler()]
        let context = self.context
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for handler in handlers {
                group.addTask { try await StageWorker(handler: handler, context: context).run() }
            }
            group.addTask { try await DeadLetterRecorder(context: context).consume() }
            let outcome: Result<String, Error>
            do {
                try await bus.publish(body, to: context.queue(.ingest), headers: [IngestHandler.jobIdHeader: id])
                outcome = .success(try await waitForEnd(id: id, interval: interval, progress: progress))
            } catch {
                outcome = .failure(error)
            }
            // Closing ends every worker's stream once its current message (and its cleanup) is done,
            // so a returned job has left nothing behind in the store.
            await bus.close()
            try await group.waitForAll()
            return try outcome.get()
        }
    }

    private func waitForEnd(id: String, interval: Double, progress: @Sendable (JobProgress) -> Void) async throws -> String {
        while true {
            try await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            guard let p = try await JobProgress.load(jobId: id, jobs: context.jobs) else {
                if let dead = try await bus.drainDeadLetters(limit: 1).first { throw PipelineError.jobFailed(dead.reason) }
                continue
            }
            progress(p)
            switch p.state {
            case .done: return id
            case .failed, .cancelled: throw PipelineError.jobFailed(p.error ?? "job \(p.state.rawValue)")
            case .queued, .running: continue
            }
        }
    }

    /// Highest number of bytes the in-memory store held, for benchmarks.
    public func peakStoreBytes() async -> Int { await store.peakBytes }
}

public enum PipelineError: FaultClassifying, CustomStringConvertible, Sendable {
    case jobFailed(String)
    public var isTransient: Bool { false }
    public var description: String {
        switch self {
        case .jobFailed(let m): return "job failed: \(m)"
        }
    }
}
