import AMQP
import Foundation
import Logging
import XCTest

/// rabbitmq-c on its own I/O thread, against the real broker.
final class AMQPConnectionTests: XCTestCase {
    func testHeartbeatsSurviveLongComputationAndConfirmsWork() async throws {
        guard let url = ProcessInfo.processInfo.environment["REFRAME_AMQP_URL"] else {
            return XCTFail("REFRAME_AMQP_URL must point at a running RabbitMQ: run the tests with scripts/test.sh")
        }
        var logger = Logger(label: "amqp-test")
        logger.logLevel = .error
        let queue = "test-hb-\(UUID().uuidString.prefix(8))"
        let topology = AMQPTopology(exchanges: [.init(name: queue, type: "direct")], queues: [.init(name: queue, quorum: true, deliveryLimit: 3)],
                                    bindings: [.init(queue: queue, exchange: queue, routingKey: queue)])
        // Heartbeat every 1 s: the broker drops a connection that misses two in a row.
        let connection = try AMQPConnection(url: url, topology: topology, heartbeat: 1, logger: logger)
        defer { connection.close() }
        let deliveries = connection.consume(queue: queue, prefetch: 1)
        try await connection.publish(exchange: queue, routingKey: queue, body: Array("one".utf8))
        var iterator = deliveries.makeAsyncIterator()
        let first = await iterator.next()!
        XCTAssertEqual(String(decoding: first.body, as: UTF8.self), "one")
        // A "model" that blocks this thread for 4 s, well past the heartbeat timeout.
        blockThisThread(seconds: 4)
        connection.ack(first)
        try await connection.publish(exchange: queue, routingKey: queue, body: Array("two".utf8))
        let second = await iterator.next()!
        XCTAssertEqual(second.generation, first.generation, "the connection was never re-established: heartbeats kept it alive")
        XCTAssertEqual(String(decoding: second.body, as: UTF8.self), "two")
        XCTAssertFalse(second.redelivered, "the first message was acked on the same connection, not redelivered")
        connection.ack(second)
        let left = try await connection.purge(queue: queue)
        XCTAssertEqual(left, 0)
    }
}

/// Busy-waits like a CPU-bound model would (no suspension point).
private func blockThisThread(seconds: Double) {
    let end = Date().addingTimeInterval(seconds)
    var x = 0.0
    while Date() < end { x += 1 }
    XCTAssertGreaterThan(x, 0)
}
