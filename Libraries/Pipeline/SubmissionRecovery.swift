import Core
import Foundation
import Logging
import ServiceLifecycle

/// Beside Ingest's HTTP API: every `interval` seconds, finishes queueing HTTP submissions whose
/// Ingest stopped between recording a job and publishing its extract messages (marked for
/// `age` seconds or more), so a job the API recorded always runs. Any Ingest replica may do it;
/// two doing it at once only publish duplicates the stages drop.
public struct SubmissionRecovery: Service {
    public let context: StageContext
    public let age: Double
    public let interval: Double

    public init(context: StageContext, age: Double) {
        self.context = context
        self.age = age
        interval = max(0.5, min(30, age / 2))
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let requeued = try await IngestHandler.requeueStalled(olderThan: age, context: context)
                if !requeued.isEmpty {
                    context.logger.warning("requeued stalled submissions", metadata: ["jobs": "\(requeued.joined(separator: ","))"])
                }
            } catch {
                // The store or broker is away: the next round tries again (their clients log the outage).
                context.logger.notice("could not check for stalled submissions", metadata: ["error": "\(error)"])
            }
            let pause = UInt64(interval * 1e9)
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(nanoseconds: pause) }
        }
    }
}
