import Core
import Foundation
import Logging
import Messaging
import ServiceLifecycle

/// Reads the dead-letter notices (a copy of every dead letter, DESIGN.md §4) and records each
/// chunk's failure in its job. Workers record the failures they see themselves; this catches the
/// ones nobody saw: a chunk that killed its worker on every delivery, dead-lettered by the broker at
/// its delivery limit. Every service runs one, so any live service records it.
public struct DeadLetterRecorder: Service {
    public let context: StageContext

    public init(context: StageContext) { self.context = context }

    public func run() async throws {
        try await consume()
        guard Task.isShuttingDownGracefully || Task.isCancelled else {
            throw ServiceFailure("the \(context.bus.names.deadLetterNotices) consumer stopped without a shutdown")
        }
    }

    /// Records notices until the bus closes (or the service shuts down).
    public func consume() async throws {
        let deliveries = try await context.bus.consume(context.bus.names.deadLetterNotices, prefetch: 4)
        for await delivery in deliveries.cancelOnGracefulShutdown() { await record(delivery) }
    }

    func record(_ delivery: BusDelivery) async {
        // A malformed body has nothing to record against; its copy stays in the dead-letter queue.
        guard let message = try? StageMessage.decode(Data(delivery.body)) else { return await settle(delivery, retry: false) }
        let reason = delivery.headers[MessageHeader.error] ?? DeadLetter.brokerReason(delivery.headers)
        do {
            try await ChunkFailure.record(message, error: Self.stripStage(reason, message.stage), jobs: context.jobs, keepEarlier: true)
            await settle(delivery, retry: false)
        } catch {
            context.logger.warning("could not record a dead letter; retrying", metadata: ["job": "\(message.jobId)", "error": "\(error)"])
            await settle(delivery, retry: true)
        }
    }

    /// Workers prefix their dead-letter reason with the stage, which the job's error names already.
    static func stripStage(_ reason: String, _ stage: Stage) -> String {
        let prefix = "\(stage.rawValue): "
        return reason.hasPrefix(prefix) ? String(reason.dropFirst(prefix.count)) : reason
    }

    private func settle(_ delivery: BusDelivery, retry: Bool) async {
        if retry { try? await Task.sleep(nanoseconds: 1_000_000_000) }
        do { try await retry ? delivery.retry() : delivery.ack() } catch {
            context.logger.warning("could not settle a dead-letter notice; the broker redelivers it", metadata: ["error": "\(error)"])
        }
    }
}
