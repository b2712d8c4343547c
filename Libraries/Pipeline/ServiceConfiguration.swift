import Core
import Foundation
import Logging
import Messaging

/// 12-factor configuration of a service, read from the environment.
public struct ServiceConfiguration: Sendable {
    /// `REFRAME_AMQP_URL`
    public var amqpURL = "amqp://guest:guest@127.0.0.1:5672/"
    /// `REFRAME_REDIS_URL`
    public var redisURL = "redis://127.0.0.1:6379/0"
    /// `REFRAME_MEDIA_ROOT`: sources and outputs live under it.
    public var mediaRoot = FileManager.default.currentDirectoryPath
    /// `REFRAME_QUEUE_PREFIX`: queue/exchange name prefix (isolates tenants and tests on one broker).
    public var queuePrefix = "reframe"
    /// `REFRAME_DELIVERY_LIMIT`: deliveries before a message is dead-lettered.
    public var deliveryLimit = 5
    /// `REFRAME_WORKERS`: concurrent workers in this process.
    public var workers = 1
    /// `REFRAME_LOG_LEVEL`: trace, debug, info, notice, warning, error, critical.
    public var logLevel = Logger.Level.info
    /// `REFRAME_AMQP_HEARTBEAT_SECONDS`: heartbeat interval proposed to the broker. Either side takes a
    /// link silent for two intervals as dead (the broker then redelivers what this service held).
    public var amqpHeartbeat = RabbitBus.defaultHeartbeat
    /// `REFRAME_SHUTDOWN_GRACE_SECONDS`: after SIGTERM, how long the message in hand may take to
    /// finish; a service still busy then (a stalled Redis, a long model run) exits anyway and the
    /// broker redelivers its unacked message. Below the 30 s most supervisors wait before SIGKILL.
    public var shutdownGrace: Double = 20
    /// `REFRAME_METRICS_PORT`: where `/metrics`, `/healthz` and `/readyz` answer; 0 (the default)
    /// turns them off, so several services on one host do not fight over one port. Containers set it
    /// (compose and the manifests use 9464, Prometheus' exporter port).
    public var metricsPort = 0
    /// `REFRAME_METRICS_HOST`: the address that port binds to (all interfaces, for containers).
    public var metricsHost = "0.0.0.0"
    public var settings = StageSettings()

    public init() {}

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> ServiceConfiguration {
        var c = ServiceConfiguration()
        if let v = env["REFRAME_AMQP_URL"] { c.amqpURL = v }
        if let v = env["REFRAME_REDIS_URL"] { c.redisURL = v }
        if let v = env["REFRAME_MEDIA_ROOT"] { c.mediaRoot = v }
        if let v = env["REFRAME_QUEUE_PREFIX"] {
            guard v.range(of: "^[A-Za-z0-9_.-]{1,100}$", options: .regularExpression) != nil else {
                throw ConfigurationError("REFRAME_QUEUE_PREFIX '\(v)' may hold only letters, digits, '.', '_' and '-'")
            }
            c.queuePrefix = v
        }
        c.deliveryLimit = try int(env, "REFRAME_DELIVERY_LIMIT", default: c.deliveryLimit, range: 1...100)
        c.settings.deliveryLimit = c.deliveryLimit
        c.workers = try int(env, "REFRAME_WORKERS", default: c.workers, range: 1...64)
        c.settings.codecThreads = try int(env, "REFRAME_CODEC_THREADS", default: 0, range: 0...256)
        if let v = env["REFRAME_LOG_LEVEL"] {
            guard let level = Logger.Level(rawValue: v) else { throw ConfigurationError("REFRAME_LOG_LEVEL '\(v)' is not a log level") }
            c.logLevel = level
        }
        c.amqpHeartbeat = try int(env, "REFRAME_AMQP_HEARTBEAT_SECONDS", default: c.amqpHeartbeat, range: 1...600)
        if let v = env["REFRAME_SHUTDOWN_GRACE_SECONDS"] {
            guard let seconds = Double(v), seconds >= 0, seconds <= 3600 else { throw ConfigurationError("REFRAME_SHUTDOWN_GRACE_SECONDS must be a number in [0, 3600]") }
            c.shutdownGrace = seconds
        }
        c.metricsPort = try int(env, "REFRAME_METRICS_PORT", default: c.metricsPort, range: 0...65535)
        if let v = env["REFRAME_METRICS_HOST"] {
            // An address or a host name; the server reports one it cannot bind when it starts.
            guard v.range(of: "^[A-Za-z0-9.:_-]{1,253}$", options: .regularExpression) != nil else {
                throw ConfigurationError("REFRAME_METRICS_HOST '\(v)' is not an address or host name")
            }
            c.metricsHost = v
        }
        if let v = env["REFRAME_SEGMENT_SECONDS"] {
            guard let seconds = Double(v), seconds > 0, seconds <= 600 else { throw ConfigurationError("REFRAME_SEGMENT_SECONDS must be a number in (0, 600]") }
            c.settings.segmentSeconds = seconds
        }
        c.settings.chunkPolicy.maxFrames = try int(env, "REFRAME_CHUNK_FRAMES", default: c.settings.chunkPolicy.maxFrames, range: 1...10_000)
        c.settings.finalizeLeaseSeconds = try int(env, "REFRAME_FINALIZE_LEASE_SECONDS", default: c.settings.finalizeLeaseSeconds, range: 3...3600)
        if let v = env["REFRAME_RETRY_WINDOW_SECONDS"] {
            guard let seconds = Double(v), seconds >= 0, seconds <= 3600 else { throw ConfigurationError("REFRAME_RETRY_WINDOW_SECONDS must be a number in [0, 3600]") }
            c.settings.transientRetryWindow = seconds
        }
        if let v = env["REFRAME_INFLIGHT_MB"] {
            guard let mb = Int64(v), mb > 0 else { throw ConfigurationError("REFRAME_INFLIGHT_MB must be a positive integer") }
            c.settings.jobInFlightBudget = mb << 20
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: c.mediaRoot, isDirectory: &isDir), isDir.boolValue else {
            throw ConfigurationError("REFRAME_MEDIA_ROOT '\(c.mediaRoot)' is not a directory")
        }
        return c
    }

    private static func int(_ env: [String: String], _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let raw = env[name] else { return value }
        guard let v = Int(raw), range.contains(v) else { throw ConfigurationError("\(name) must be an integer in \(range), got '\(raw)'") }
        return v
    }

    public var queueNames: QueueNames { QueueNames(prefix: queuePrefix) }
}

public struct ConfigurationError: FaultClassifying, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var isTransient: Bool { false }
}
