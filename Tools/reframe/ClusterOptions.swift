import ArgumentParser
import Foundation
import Logging
import Messaging
import Pipeline
import Store

/// Where the cluster's broker and store are; defaults come from the services' environment variables.
struct ClusterOptions: ParsableArguments {
    @Option(help: "AMQP URL (default $REFRAME_AMQP_URL).") var amqpURL: String?
    @Option(help: "Redis URL (default $REFRAME_REDIS_URL).") var redisURL: String?
    @Option(help: "Queue name prefix (default $REFRAME_QUEUE_PREFIX or reframe).") var queuePrefix: String?

    private var env: [String: String] { ProcessInfo.processInfo.environment }
    var amqp: String { amqpURL ?? env["REFRAME_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/" }
    var redis: String { redisURL ?? env["REFRAME_REDIS_URL"] ?? "redis://127.0.0.1:6379/0" }
    var names: QueueNames { QueueNames(prefix: queuePrefix ?? env["REFRAME_QUEUE_PREFIX"] ?? "reframe") }
    /// The services' delivery limit: the tool declares the same queues, and RabbitMQ refuses a
    /// declaration whose arguments differ.
    var deliveryLimit: Int { env["REFRAME_DELIVERY_LIMIT"].flatMap(Int.init) ?? 5 }

    func jobs() throws -> JobStore { JobStore(kv: try RedisStore(url: redis, connections: 1)) }

    /// A bus on the cluster's queues, or on another prefix's (the benchmark's private ones).
    func bus(prefix: String? = nil) throws -> RabbitBus {
        var logger = Logger(label: "reframe")
        logger.logLevel = .error
        return try RabbitBus(url: amqp, names: prefix.map(QueueNames.init(prefix:)) ?? names, deliveryLimit: deliveryLimit, logger: logger)
    }
}
