import Core
import Foundation
import Logging
import Messaging
import ServiceLifecycle
import Store

/// Runs one stage as a service: configuration from the environment, RabbitMQ and Redis, N workers,
/// graceful shutdown on SIGTERM/SIGINT (the message in hand is finished within the shutdown grace,
/// the rest stay queued).
/// Lost connections are logged and re-established by the clients; a service that cannot go on
/// (bad configuration, no broker or store at start, a consumer that stopped) logs why and exits 1.
public enum ServiceMain {
    /// Services a process runs beside its stage workers (an HTTP API, a metrics endpoint), made
    /// from the same context and configuration, so they share one lifecycle and one shutdown.
    public typealias Peers = @Sendable (StageContext, ServiceConfiguration) throws -> [any Service]

    public static func run(_ handlers: any StageHandler..., peers: Peers = { _, _ in [] }) async {
        ProcessSignals.ignoreBrokenPipe()
        // Before any worker or peer makes a metric: one made earlier would stay a no-op.
        ServiceMetrics.bootstrap()
        let name = handlers.map(\.stage.rawValue).joined(separator: "+")
        var logger = Logger(label: "reframe.\(name)")
        do {
            let config = try ServiceConfiguration.fromEnvironment()
            logger.logLevel = config.logLevel
            ParentWatch.startIfAsked(logger: logger)
            let bus = try RabbitBus(url: config.amqpURL, names: config.queueNames, deliveryLimit: config.deliveryLimit,
                                    heartbeat: config.amqpHeartbeat, logger: logger)
            let store = try RedisStore(url: config.redisURL, connections: max(2, config.workers * 2), logger: logger)
            let context = StageContext(bus: bus, jobs: JobStore(kv: store, logger: logger), mediaRoot: config.mediaRoot, logger: logger, settings: config.settings)
            let inHand = WorkInHand()
            let workers: [any Service] = handlers.flatMap { handler in
                (0..<config.workers).map { _ in ServiceWorker(worker: StageWorker(handler: handler, context: context, inHand: inHand)) }
            }
            // The grace timer last: the group shuts services down in reverse, so it starts first.
            // Peers first: they stop last, so health and metrics answer while the workers drain.
            let grace = ShutdownGrace(grace: config.shutdownGrace, inHand: inHand, logger: logger)
            let group = ServiceGroup(services: try peers(context, config) + workers + [DeadLetterRecorder(context: context), grace],
                                     gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
            await bus.close()
        } catch {
            logger.critical("\(name) service stopped", metadata: ["error": "\(error)"])
            exit(1)
        }
    }
}

extension ServiceMain {
    /// The Assembler runs encode and finalize workers; `role` limits it to one of them.
    public static func runAssembler(role: String?, peers: @escaping Peers = { _, _ in [] }) async {
        switch role {
        case "encode": await run(EncodeHandler(), peers: peers)
        case "finalize": await run(FinalizeHandler(), peers: peers)
        case nil, "", "both": await run(EncodeHandler(), FinalizeHandler(), peers: peers)
        default:
            FileHandle.standardError.write(Data("REFRAME_ASSEMBLER_ROLE must be encode, finalize or both\n".utf8))
            exit(2)
        }
    }
}

/// A stage worker run as a service. The bus ends a consumer's stream only when it is closed, so a
/// stream that ends without a shutdown would leave a live process consuming nothing: end it loudly.
struct ServiceWorker: Service {
    let worker: StageWorker

    func run() async throws {
        try await worker.run()
        guard Task.isShuttingDownGracefully || Task.isCancelled else {
            throw ServiceFailure("the \(worker.context.queue(worker.handler.stage)) consumer stopped without a shutdown")
        }
    }
}

/// A service that cannot go on: `ServiceMain` logs it and exits non-zero.
public struct ServiceFailure: FaultClassifying, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var isTransient: Bool { false }
}
