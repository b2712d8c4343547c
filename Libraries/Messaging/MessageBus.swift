/// One message handed to a consumer. Exactly one of `ack`, `retry`, `postpone` or `deadLetter` settles it.
public struct BusDelivery: Sendable {
    public var body: [UInt8]
    public var queue: String
    /// How many times the broker delivered it before (0 on the first delivery).
    public var previousDeliveries: Int
    /// String headers (`MessageHeader`, and the broker's `x-first-death-*`).
    public var headers: [String: String]
    let settle: @Sendable (Settlement) async throws -> Void

    public enum Settlement: Sendable, Equatable {
        case ack
        /// Put back for another attempt; counts towards the queue's delivery limit.
        case retry
        /// Put back as a fresh message (published again, then acked): the attempt did not fail, the
        /// cluster was busy, so it does not count towards the delivery limit.
        case postpone
        /// Move to the dead-letter queue with the reason, never to be retried automatically.
        case deadLetter(String)
    }

    public init(body: [UInt8], queue: String, previousDeliveries: Int, headers: [String: String],
                settle: @escaping @Sendable (Settlement) async throws -> Void) {
        self.body = body
        self.queue = queue
        self.previousDeliveries = previousDeliveries
        self.headers = headers
        self.settle = settle
    }

    public func ack() async throws { try await settle(.ack) }
    public func retry() async throws { try await settle(.retry) }
    public func postpone() async throws { try await settle(.postpone) }
    public func deadLetter(reason: String) async throws { try await settle(.deadLetter(reason)) }
}

/// A dead-lettered message as `reframe dlq` shows it.
/// The headers Reframe puts on messages, named once.
public enum MessageHeader {
    /// Why a worker dead-lettered the message.
    public static let error = "x-reframe-error"
    /// How many times the message was delivered before it was dead-lettered.
    public static let deliveries = "x-reframe-deliveries"
    /// The work queue it was dead-lettered from (kept when `reframe dlq` puts letters back).
    public static let sourceQueue = "x-reframe-queue"
    /// A job id the client chose for its spec.
    public static let jobId = "x-reframe-job-id"
    /// When a stage published the message (milliseconds since 1970), for the queue-wait metric.
    /// Wall clocks of different hosts: as good as their time sync.
    public static let publishedAt = "x-reframe-published-at"
}

public struct DeadLetter: Sendable {
    public var body: [UInt8]
    public var sourceQueue: String
    public var reason: String
    /// Deliveries before it was dead-lettered, when known.
    public var deliveries: Int?

    public init(body: [UInt8], sourceQueue: String, reason: String, deliveries: Int? = nil) {
        self.body = body
        self.sourceQueue = sourceQueue
        self.reason = reason
        self.deliveries = deliveries
    }

    /// The headers that keep this letter's facts when it is published to the dead-letter queue again.
    public var headers: [String: String] {
        var h = [MessageHeader.error: reason, MessageHeader.sourceQueue: sourceQueue]
        if let deliveries { h[MessageHeader.deliveries] = "\(deliveries)" }
        return h
    }

    /// A letter read back from the dead-letter queue: what a worker or an earlier `reframe dlq` wrote,
    /// else what the broker's own headers say (`x-first-death-*`) and how often it delivered it.
    public init(fromHeaders headers: [String: String], body: [UInt8], routingKey: String, brokerDeliveries: Int?) {
        self.init(body: body, sourceQueue: headers[MessageHeader.sourceQueue] ?? headers["x-first-death-queue"] ?? routingKey,
                  reason: headers[MessageHeader.error] ?? Self.brokerReason(headers),
                  deliveries: headers[MessageHeader.deliveries].flatMap { Int($0) } ?? brokerDeliveries)
    }

    /// Why the broker (not a worker) dead-lettered a message, from the headers it adds.
    public static func brokerReason(_ headers: [String: String]) -> String {
        switch headers["x-first-death-reason"] {
        case "delivery_limit"?:
            return "delivery limit reached: the worker crashed or gave the message back on every delivery"
        case let reason?:
            return "dead-lettered by the broker (\(reason))"
        case nil:
            return "delivery limit reached or rejected by a worker"
        }
    }
}

/// The work queues between stages (DESIGN.md §4). RabbitMQ in production, `InMemoryBus` in the
/// embedded mode and in unit tests; stages see only this protocol.
public protocol MessageBus: Sendable {
    /// The queue names this bus uses for the pipeline.
    var names: QueueNames { get }
    /// Publishes durably; returns once the broker has confirmed it.
    func publish(_ body: [UInt8], to queue: String, headers: [String: String]) async throws
    /// Subscribes with manual settlement and at most `prefetch` unsettled deliveries.
    func consume(_ queue: String, prefetch: Int) async throws -> AsyncStream<BusDelivery>
    /// Takes dead letters off the dead-letter queue (at most `limit`).
    func drainDeadLetters(limit: Int) async throws -> [DeadLetter]
    /// Whether every connection to the broker is up now (for `/readyz`).
    func isConnected() async -> Bool
    func close() async
}

extension MessageBus {
    public func publish(_ body: [UInt8], to queue: String) async throws { try await publish(body, to: queue, headers: [:]) }
}

/// Queue and exchange names under one prefix, so tests (and tenants) can share a broker.
public struct QueueNames: Sendable, Equatable {
    public var prefix: String
    public init(prefix: String = "reframe") { self.prefix = prefix }

    public var exchange: String { prefix }
    public var deadLetterExchange: String { "\(prefix).dlx" }
    public var deadLetterQueue: String { "\(prefix).dead" }
    /// A second copy of every dead letter, consumed by the services to record the chunk's failure in
    /// its job (the broker dead-letters a message that kept killing its worker without telling anyone);
    /// `deadLetterQueue` keeps its copy for `reframe dlq`.
    public var deadLetterNotices: String { "\(prefix).dead-notices" }
    public func queue(_ stage: String) -> String { "\(prefix).\(stage)" }
    public static let stages = ["ingest", "extract", "upscale", "interpolate", "encode", "finalize"]
    public var workQueues: [String] { Self.stages.map(queue) }
}
