import Core
import Enhance
import Foundation
import Logging
import Media
import Messaging
import ServiceLifecycle
import Store

/// The generic worker loop every stage runs (DESIGN.md §6): handler steps 1–3, then publish the next
/// messages (confirmed), ack, and delete the input. Malformed or hopeless messages are dead-lettered
/// with their reason and the job is marked failed; transient failures (store or broker trouble)
/// are put back for another attempt, bounded by the queue's delivery limit.
public struct StageWorker: Service {
    public let handler: any StageHandler
    public let context: StageContext

    public init(handler: any StageHandler, context: StageContext) {
        self.handler = handler
        self.context = context
    }

    public func run() async throws {
        let queue = context.queue(handler.stage)
        let deliveries = try await context.bus.consume(queue, prefetch: handler.prefetch)
        context.logger.info("consuming", metadata: ["queue": "\(queue)"])
        for await delivery in deliveries.cancelOnGracefulShutdown() {
            await handle(delivery)
        }
    }

    /// Handles one delivery completely; never throws, so one bad message cannot stop the worker.
    public func handle(_ delivery: BusDelivery) async {
        var logger = context.logger
        let message = try? StageMessage.decode(Data(delivery.body))
        if let message {
            logger[metadataKey: "job"] = "\(message.jobId)"
            if let c = message.chunk { logger[metadataKey: "chunk"] = "\(c.index)" }
            if let s = message.segment { logger[metadataKey: "segment"] = "\(s)" }
        }
        let started = Date()
        do {
            let outcome = try await handler.process(delivery, context: context)
            for next in outcome.next { try await context.publish(next) }
            try await delivery.ack()
            if let cleanup = outcome.cleanup {
                do { try await cleanup() } catch { logger.warning("cleanup failed; keys expire by TTL", metadata: ["error": "\(error)"]) }
            }
            logger.debug("done", metadata: ["stage": "\(handler.stage.rawValue)", "seconds": "\(String(format: "%.2f", Date().timeIntervalSince(started)))"])
        } catch {
            let lastAttempt = delivery.previousDeliveries + 1 >= context.settings.deliveryLimit
            if Self.isPermanent(error) || (lastAttempt && !(error is FinalizeBusy)) {
                let reason = Self.isPermanent(error) ? "\(error)" : "gave up after \(delivery.previousDeliveries + 1) attempts: \(error)"
                logger.error("failed permanently; dead-lettering", metadata: ["error": "\(reason)"])
                await recordFailure(message, error: reason)
                do { try await delivery.deadLetter(reason: "\(handler.stage.rawValue): \(reason)") } catch {
                    logger.error("dead-lettering failed; message will be redelivered", metadata: ["error": "\(error)"])
                }
            } else {
                logger.warning("failed; retrying", metadata: ["error": "\(error)", "previousDeliveries": "\(delivery.previousDeliveries)"])
                // A pause so a flapping dependency (or a busy finalizer) is not hammered by instant redelivery.
                try? await Task.sleep(nanoseconds: error is FinalizeBusy ? 2_000_000_000 : 200_000_000)
                try? await delivery.retry()
            }
        }
    }

    static func isPermanent(_ error: Error) -> Bool {
        switch error {
        case is PermanentFailure, is MessageError, is SpecError, is MediaError, is EnhanceError, is StoreError, is DecodingError:
            return true
        default:
            return false
        }
    }

    private func recordFailure(_ message: StageMessage?, error: String) async {
        guard let message else { return }
        let jobs = context.jobs
        let field: String? = message.chunk.map { Keys.chunkField($0.index, message.stage) }
            ?? message.segment.map { "s\($0):extract" }
        do {
            if let field {
                try await jobs.markChunk(message.jobId, field: field, ChunkState(state: .failed, frames: 0, error: error))
            }
            let what = message.chunk.map { "chunk \($0.index)" } ?? message.segment.map { "segment \($0)" } ?? "job"
            try await jobs.setState(message.jobId, .failed, error: "\(message.stage.rawValue) of \(what): \(error)")
        } catch {
            context.logger.error("could not record failure", metadata: ["error": "\(error)"])
        }
    }
}
