import Core
import Foundation

/// Where to connect: `amqp://user:password@host:port/vhost` (vhost URL-encoded; `/` when empty path).
public struct AMQPEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var vhost: String

    public init(url: String) throws {
        guard let c = URLComponents(string: url), c.scheme == "amqp" else { throw AMQPError.invalidURL(url) }
        host = c.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        port = c.port ?? 5672
        user = c.user.flatMap { $0.removingPercentEncoding } ?? "guest"
        password = c.password.flatMap { $0.removingPercentEncoding } ?? "guest"
        let path = c.percentEncodedPath
        if path.isEmpty || path == "/" {
            vhost = "/"
        } else {
            vhost = String(path.dropFirst()).removingPercentEncoding ?? String(path.dropFirst())
        }
    }
}

public enum AMQPError: FaultClassifying, CustomStringConvertible, Sendable {
    case invalidURL(String)
    case connection(String)
    /// The broker refused a declaration or an operation (e.g. PRECONDITION_FAILED).
    case broker(String)
    /// The broker nacked a published message, or it was unroutable.
    case notConfirmed(String)
    case timeout(String)
    case closed

    /// Only a bad URL is the caller's fault. A broker refusal while it restarts (quorum queues
    /// without a leader yet), a nack, a lost confirm or a closed connection can all pass; an
    /// unroutable publish recurs, but the delivery limit bounds its retries.
    public var isTransient: Bool {
        if case .invalidURL = self { return false }
        return true
    }

    public var description: String {
        switch self {
        case .invalidURL(let u): return "invalid AMQP URL: \(u)"
        case .connection(let m): return "AMQP connection: \(m)"
        case .broker(let m): return "AMQP broker: \(m)"
        case .notConfirmed(let m): return "AMQP publish not confirmed: \(m)"
        case .timeout(let m): return "AMQP timeout: \(m)"
        case .closed: return "AMQP connection closed"
        }
    }
}

/// Exchanges, queues and bindings declared (idempotently) on every connect.
public struct AMQPTopology: Sendable, Equatable {
    public struct Exchange: Sendable, Equatable {
        public var name: String
        public var type: String
        public init(name: String, type: String) {
            self.name = name
            self.type = type
        }
    }

    public struct Queue: Sendable, Equatable {
        public var name: String
        public var quorum: Bool
        public var deadLetterExchange: String?
        /// Deliveries in all before the broker dead-letters a message (quorum queues; nil: no limit).
        public var deliveryLimit: Int?
        /// The queue's `x-delivery-limit`: RabbitMQ counts returns, not deliveries, so n deliveries
        /// allow n - 1 returns.
        public var xDeliveryLimit: Int? { deliveryLimit.map { max(0, $0 - 1) } }
        public init(name: String, quorum: Bool = true, deadLetterExchange: String? = nil, deliveryLimit: Int? = nil) {
            self.name = name
            self.quorum = quorum
            self.deadLetterExchange = deadLetterExchange
            self.deliveryLimit = deliveryLimit
        }
    }

    public struct Binding: Sendable, Equatable {
        public var queue: String
        public var exchange: String
        public var routingKey: String
        public init(queue: String, exchange: String, routingKey: String) {
            self.queue = queue
            self.exchange = exchange
            self.routingKey = routingKey
        }
    }

    public var exchanges: [Exchange]
    public var queues: [Queue]
    public var bindings: [Binding]

    public init(exchanges: [Exchange] = [], queues: [Queue] = [], bindings: [Binding] = []) {
        self.exchanges = exchanges
        self.queues = queues
        self.bindings = bindings
    }
}

/// One delivered message. Ack or reject it through the connection that delivered it.
public struct AMQPDelivery: Sendable {
    public var body: [UInt8]
    public var deliveryTag: UInt64
    public var redelivered: Bool
    public var routingKey: String
    /// Broker's count of earlier deliveries (quorum queues' x-delivery-count), when present.
    public var deliveryCount: Int?
    /// The string headers the message carried (a worker's error, a client-chosen job id, why and
    /// from where the broker dead-lettered it, e.g. `x-first-death-reason: delivery_limit`).
    public var headers: [String: String]
    /// Which connection incarnation delivered it; acks for an older one are dropped (the broker redelivers).
    public var generation: Int
}
