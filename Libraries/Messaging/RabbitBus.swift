import AMQP
import Foundation
import Logging

/// The production bus on RabbitMQ: quorum work queues with a delivery limit, dead-lettering to
/// `<prefix>.dlx` → `<prefix>.dead`, publisher confirms, manual acks and prefetch.
///
/// Each `consume` gets its own connection (and I/O thread), so the prefetch of one stage never
/// limits another in the same process and a slow consumer cannot delay another's heartbeats.
public final class RabbitBus: MessageBus, @unchecked Sendable {
    public let names: QueueNames
    private let url: String
    private let logger: Logger
    private let heartbeat: Int
    private let publisher: AMQPConnection
    private let lock = NSLock()
    private var consumers: [AMQPConnection] = []
    /// Deliveries before the broker dead-letters a message (the queues' own limit: declaring them
    /// with another would fail).
    private let deliveryLimit: Int

    /// `heartbeat`: seconds between AMQP heartbeats on each of its connections.
    public init(url: String, names: QueueNames = QueueNames(), deliveryLimit: Int = 5, heartbeat: Int = RabbitBus.defaultHeartbeat, logger: Logger) throws {
        self.names = names
        self.url = url
        self.logger = logger
        self.deliveryLimit = deliveryLimit
        self.heartbeat = heartbeat
        self.topology = Self.topology(names, deliveryLimit: deliveryLimit)
        publisher = try AMQPConnection(url: url, topology: topology, heartbeat: heartbeat, logger: logger)
    }

    private let topology: AMQPTopology

    public static let defaultHeartbeat = AMQPConnection.defaultHeartbeat

    /// DESIGN.md §4, declared idempotently by every connection.
    public static func topology(_ names: QueueNames, deliveryLimit: Int) -> AMQPTopology {
        var t = AMQPTopology()
        t.exchanges = [.init(name: names.exchange, type: "direct"), .init(name: names.deadLetterExchange, type: "fanout")]
        for q in names.workQueues {
            t.queues.append(.init(name: q, quorum: true, deadLetterExchange: names.deadLetterExchange, deliveryLimit: deliveryLimit))
            t.bindings.append(.init(queue: q, exchange: names.exchange, routingKey: q))
        }
        for q in [names.deadLetterQueue, names.deadLetterNotices] {
            t.queues.append(.init(name: q, quorum: true))
            t.bindings.append(.init(queue: q, exchange: names.deadLetterExchange, routingKey: ""))
        }
        return t
    }

    public func publish(_ body: [UInt8], to queue: String, headers: [String: String]) async throws {
        let header = Self.headerList(headers)
        if queue == names.deadLetterQueue {
            // Straight into the dead-letter queue (the default exchange routes by queue name): through
            // the fanout exchange a copy would reach the notices queue and fail its chunk again.
            try await publisher.publish(exchange: "", routingKey: queue, body: body, headers: header)
        } else {
            try await publisher.publish(exchange: names.exchange, routingKey: queue, body: body, headers: header)
        }
    }

    public func consume(_ queue: String, prefetch: Int) async throws -> AsyncStream<BusDelivery> {
        let connection = try AMQPConnection(url: url, topology: topology, heartbeat: heartbeat, logger: logger)
        lock.withLock { consumers.append(connection) }
        let deliveries = connection.consume(queue: queue, prefetch: prefetch)
        let publisher = self.publisher
        let deadExchange = names.deadLetterExchange, exchange = names.exchange
        return AsyncStream { continuation in
            let task = Task {
                for await d in deliveries {
                    let delivery = BusDelivery(body: d.body, queue: queue, previousDeliveries: d.deliveryCount ?? (d.redelivered ? 1 : 0),
                                               headers: d.headers) { settlement in
                        switch settlement {
                        case .ack:
                            connection.ack(d)
                        case .retry:
                            connection.reject(d, requeue: true)
                        case .postpone:
                            // A new copy (confirmed) first, then the ack: the broker's delivery count
                            // starts again, and the message is never lost in between.
                            try await publisher.publish(exchange: exchange, routingKey: queue, body: d.body,
                                                        headers: Self.headerList(d.headers))
                            connection.ack(d)
                        case .deadLetter(let reason):
                            // Publish a copy carrying the reason first, then ack: the message is never lost.
                            let letter = DeadLetter(body: d.body, sourceQueue: queue, reason: String(reason.prefix(1000)),
                                                    deliveries: (d.deliveryCount ?? (d.redelivered ? 1 : 0)) + 1)
                            try await publisher.publish(exchange: deadExchange, routingKey: queue, body: d.body,
                                                        headers: Self.headerList(letter.headers))
                            connection.ack(d)
                        }
                    }
                    continuation.yield(delivery)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public func drainDeadLetters(limit: Int) async throws -> [DeadLetter] {
        var out: [DeadLetter] = []
        while out.count < limit, let d = try await publisher.get(queue: names.deadLetterQueue) {
            // The dead-letter queue's own x-delivery-count replaces the work queue's, so a letter the
            // broker dead-lettered at its limit was delivered exactly `deliveryLimit` times.
            out.append(DeadLetter(fromHeaders: d.headers, body: d.body, routingKey: d.routingKey,
                                  brokerDeliveries: d.headers["x-first-death-reason"] == "delivery_limit" ? deliveryLimit : nil))
            publisher.ack(d)
        }
        return out
    }

    public func isConnected() async -> Bool {
        let all = lock.withLock { consumers }
        return publisher.isConnected && all.allSatisfy(\.isConnected)
    }

    public func close() async {
        let all = lock.withLock { consumers }
        for c in all { c.close() }
        publisher.close()
    }

    /// Headers in a fixed order for the wire (a dictionary's order changes from run to run).
    static func headerList(_ headers: [String: String]) -> [(String, String)] {
        headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
