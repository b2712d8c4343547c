import Core
import Foundation
import Logging
import Messaging
import Metrics
import ServiceLifecycle
import Store

/// The generic worker loop every stage runs (DESIGN.md §6): handler steps 1–3, then publish the next
/// messages (confirmed), ack, and delete the input. Errors say themselves whether a retry can help
/// (`FaultClassifying`). Permanent ones dead-letter the message with its reason and fail the chunk
/// (the job ends failed once its other chunks are done).
/// Transient ones (a store or broker restarting, a full store) are retried in place with capped
/// back-off for `transientRetryWindow` seconds, which rides out a restart without using up
/// deliveries; after that the message is put back, bounded by the queue's delivery limit.
public struct StageWorker: Service {
    public let handler: any StageHandler
    public let context: StageContext
    /// Shared by the workers of one process: what they hold when a shutdown is asked for.
    let inHand: WorkInHand

    public init(handler: any StageHandler, context: StageContext, inHand: WorkInHand = WorkInHand()) {
        self.handler = handler
        self.context = context
        self.inHand = inHand
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
        inHand.take()
        defer { inHand.settle() }
        var logger = context.logger
        let message = try? StageMessage.decode(Data(delivery.body))
        logger[metadataKey: WorkerLogEvents.stage] = "\(handler.stage.rawValue)"
        if let message {
            logger[metadataKey: "job"] = "\(message.jobId)"
            if let c = message.chunk { logger[metadataKey: "chunk"] = "\(c.index)" }
            if let s = message.segment { logger[metadataKey: "segment"] = "\(s)" }
        }
        let stage = handler.stage
        // Counted by the fault harness: how often the kill storm and restarts made work come back.
        if delivery.previousDeliveries > 0 {
            logger.notice("\(WorkerLogEvents.redelivered)", metadata: [WorkerLogEvents.previousDeliveries: "\(delivery.previousDeliveries)"])
            ServiceMetrics.retried(stage).increment()
        } else if let wait = Self.queueWait(delivery) {
            ServiceMetrics.queueWait(stage).recordSeconds(wait)
        }
        await TestHold.pause(logger: logger)
        let started = Date()
        let clock = ContinuousClock.now
        let settings = context.settings
        var retries = 0
        while true {
            do {
                let work = try await runSteps(delivery, message: message, logger: logger)
                ServiceMetrics.processed(stage).increment()
                ServiceMetrics.seconds(stage).record(duration: ContinuousClock.now - clock)
                if work.frames > 0 { ServiceMetrics.frames(stage).increment(by: work.frames) }
                if work.bytes > 0 { ServiceMetrics.bytes(stage).increment(by: work.bytes) }
                if retries > 0 { logger.notice("succeeded after retrying in place", metadata: ["retries": "\(retries)"]) }
                logger.debug("done", metadata: ["seconds": "\(String(format: "%.2f", Date().timeIntervalSince(started)))"])
                return
            } catch {
                let transient = Fault.isTransient(error)
                // Only errors that declare themselves transient are worth waiting for in place; an
                // unclassified one goes back to the queue at once, its retries bounded by the delivery limit.
                let classified = Fault.isClassified(error)
                if !classified {
                    logger.warning("unclassified error treated as transient", metadata: ["type": "\(type(of: error))", "error": "\(error)"])
                }
                let inWindow = Date().timeIntervalSince(started) < settings.transientRetryWindow
                if transient && classified && inWindow && !Task.isShuttingDownGracefully && !Task.isCancelled {
                    let delay = settings.transientBackoff.delay(attempt: retries)
                    retries += 1
                    logger.warning("\(WorkerLogEvents.retryingInPlace)", metadata: [
                        "error": "\(error)", "retry": "\(retries)", "delay_s": "\(String(format: "%.2f", delay))"])
                    try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                    continue
                }
                await settle(delivery, message: message, error: error, transient: transient, logger: logger)
                return
            }
        }
    }

    /// Steps 1–6 of DESIGN.md §6 for one try; each is idempotent, so a failed try can be repeated whole.
    /// `message`: the body decoded once by `handle` (nil when malformed; the handler reports that).
    /// Returns the work done, for the metrics. The handler logs with this delivery's logger, so its
    /// lines carry the job, chunk and segment too.
    private func runSteps(_ delivery: BusDelivery, message: StageMessage?, logger: Logger) async throws -> StageWork {
        TestPoison.strike(message, logger: logger)
        var scoped = context
        scoped.logger = logger
        let outcome = try await handler.process(delivery, context: scoped)
        // A job cancelled while this step ran had its frames purged before the step stored its
        // output: purge again and pass nothing on, so no key of it outlives the cancel.
        if let message, handler.stage != .ingest, try await context.jobs.state(message.jobId) == .cancelled {
            try await context.jobs.purgeFrames(jobId: message.jobId)
            try await delivery.ack()
            logger.info("job cancelled while this step ran; its output is dropped")
            return StageWork()
        }
        let stage = handler.stage
        for (n, next) in outcome.next.enumerated() {
            try await context.publish(next)
            if n == 0 { CrashPoint.strike(.afterPublish, stage, logger: logger) }
        }
        // Finalize publishes nothing: its point after publishing is the moment before the ack.
        if outcome.next.isEmpty && stage == .finalize { CrashPoint.strike(.afterPublish, stage, logger: logger) }
        CrashPoint.strike(.beforeAck, stage, logger: logger)
        if CrashPoint.claim(.lostAck, stage) {
            try? await outcome.cleanup?()
            CrashPoint.crash(.lostAck, stage, logger: logger)
        }
        try await delivery.ack()
        if let cleanup = outcome.cleanup {
            do { try await cleanup() } catch { logger.warning("cleanup failed; keys expire by TTL", metadata: ["error": "\(error)"]) }
        }
        return outcome.work
    }

    /// Seconds from publish to this delivery, when a stage published it (`MessageHeader.publishedAt`).
    static func queueWait(_ delivery: BusDelivery) -> Double? {
        guard let ms = delivery.headers[MessageHeader.publishedAt].flatMap(Int64.init) else { return nil }
        // Another host's clock may run ahead: never a negative wait.
        return max(0, Date().timeIntervalSince1970 - Double(ms) / 1000)
    }

    /// After the last try in this process: dead-letter a permanent failure (or a transient one on
    /// the last allowed delivery), postpone one that only says the cluster is busy (a full store, a
    /// finalize running elsewhere: never the chunk's failure), otherwise put the message back for
    /// another delivery.
    private func settle(_ delivery: BusDelivery, message: StageMessage?, error: Error, transient: Bool, logger: Logger) async {
        let lastAttempt = delivery.previousDeliveries + 1 >= context.settings.deliveryLimit
        if transient && !Fault.countsAsAttempt(error) {
            logger.notice("cluster busy; postponing the message without spending a delivery", metadata: ["error": "\(error)"])
            // A pause so a busy finalizer or a full store is not hammered by instant redelivery.
            try? await Task.sleep(nanoseconds: 2_000_000_000)
            do { try await delivery.postpone() } catch {
                logger.warning("could not postpone the message; the broker redelivers it when the connection drops", metadata: ["error": "\(error)"])
            }
            return
        }
        if !transient || lastAttempt {
            // Clients read this (job record, dead-letter header): no server paths in it.
            let reason = MediaPath.relative(transient ? "gave up after \(delivery.previousDeliveries + 1) attempts: \(error)" : "\(error)",
                                            under: context.mediaRoot)
            logger.error("failed permanently; dead-lettering", metadata: ["error": "\(reason)"])
            ServiceMetrics.failed(handler.stage).increment()
            await recordFailure(message, error: reason, logger: logger)
            do { try await delivery.deadLetter(reason: "\(handler.stage.rawValue): \(reason)") } catch {
                logger.error("dead-lettering failed; message will be redelivered", metadata: ["error": "\(error)"])
            }
        } else {
            logger.warning("failed; returning the message to the queue", metadata: [
                "error": "\(error)", "previousDeliveries": "\(delivery.previousDeliveries)"])
            // A pause so a flapping dependency is not hammered by instant redelivery.
            try? await Task.sleep(nanoseconds: 200_000_000)
            do { try await delivery.retry() } catch {
                logger.warning("could not return the message; the broker redelivers it when the connection drops", metadata: ["error": "\(error)"])
            }
        }
    }

    private func recordFailure(_ message: StageMessage?, error: String, logger: Logger) async {
        guard let message else { return }
        do { try await ChunkFailure.record(message, error: error, jobs: context.jobs) } catch {
            logger.error("could not record failure", metadata: ["error": "\(error)"])
        }
    }
}
