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
    /// `REFRAME_HTTP_PORT`: the Ingest's HTTP API (0: any free port).
    public var httpPort = ServiceConfiguration.defaultHTTPPort
    /// `REFRAME_METRICS_PORT`: where `/metrics`, `/healthz` and `/readyz` answer; 0 (the default)
    /// turns them off, so several services on one host do not fight over one port. Containers set it
    /// (compose and the manifests give each stage its own, 9091–9095).
    public var metricsPort = 0
    /// `REFRAME_METRICS_HOST`: the address that port binds to. Loopback unless asked, as the
    /// endpoint has no authentication; the container image sets 0.0.0.0.
    public var metricsHost = "127.0.0.1"
    public var settings = StageSettings()
    /// `REFRAME_SUBMIT_RECOVERY_SECONDS`: how long an HTTP submission may stay recorded but not
    /// queued before an Ingest queues it (its own Ingest stopped in between; `SubmissionRecovery`).
    public var submitRecoverySeconds: Double = 30

    public static let defaultHTTPPort = 8080

    public init() {}

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> ServiceConfiguration {
        var c = ServiceConfiguration()
        if let v = env[.amqpURL] { c.amqpURL = v }
        if let v = env[.redisURL] { c.redisURL = v }
        if let v = env[.mediaRoot] { c.mediaRoot = v }
        if let v = env[.queuePrefix] {
            guard v.range(of: "^[A-Za-z0-9_.-]{1,100}$", options: .regularExpression) != nil else {
                throw ConfigurationError("REFRAME_QUEUE_PREFIX '\(v)' may hold only letters, digits, '.', '_' and '-'")
            }
            c.queuePrefix = v
        }
        c.deliveryLimit = try int(env, .deliveryLimit, default: c.deliveryLimit, range: 1...100)
        c.settings.deliveryLimit = c.deliveryLimit
        c.workers = try int(env, .workers, default: c.workers, range: 1...64)
        c.settings.codecThreads = try int(env, .codecThreads, default: 0, range: 0...256)
        if let v = env[.logLevel] {
            guard let level = Logger.Level(rawValue: v) else { throw ConfigurationError("REFRAME_LOG_LEVEL '\(v)' is not a log level") }
            c.logLevel = level
        }
        c.amqpHeartbeat = try int(env, .amqpHeartbeat, default: c.amqpHeartbeat, range: 1...600)
        if let v = env[.shutdownGrace] {
            guard let seconds = Double(v), seconds >= 0, seconds <= 3600 else { throw ConfigurationError("REFRAME_SHUTDOWN_GRACE_SECONDS must be a number in [0, 3600]") }
            c.shutdownGrace = seconds
        }
        c.metricsPort = try int(env, .metricsPort, default: c.metricsPort, range: 0...65535)
        if let v = env[.metricsHost] {
            // An address or a host name; the server reports one it cannot bind when it starts.
            guard v.range(of: "^[A-Za-z0-9.:_-]{1,253}$", options: .regularExpression) != nil else {
                throw ConfigurationError("REFRAME_METRICS_HOST '\(v)' is not an address or host name")
            }
            c.metricsHost = v
        }
        if let v = env[.segmentSeconds] {
            guard let seconds = Double(v), seconds > 0, seconds <= 600 else { throw ConfigurationError("REFRAME_SEGMENT_SECONDS must be a number in (0, 600]") }
            c.settings.segmentSeconds = seconds
        }
        c.settings.chunkPolicy.maxFrames = try int(env, .chunkFrames, default: c.settings.chunkPolicy.maxFrames, range: 1...10_000)
        c.settings.finalizeLeaseSeconds = try int(env, .finalizeLease, default: c.settings.finalizeLeaseSeconds, range: 3...3600)
        if let v = env[.retryWindow] {
            guard let seconds = Double(v), seconds >= 0, seconds <= 3600 else { throw ConfigurationError("REFRAME_RETRY_WINDOW_SECONDS must be a number in [0, 3600]") }
            c.settings.transientRetryWindow = seconds
        }
        if let v = env[.submitRecovery] {
            guard let seconds = Double(v), seconds >= 1, seconds <= 86_400 else {
                throw ConfigurationError("REFRAME_SUBMIT_RECOVERY_SECONDS must be a number in [1, 86400]")
            }
            c.submitRecoverySeconds = seconds
        }
        if let v = env[.inFlightMB] {
            guard let mb = Int64(v), mb > 0 else { throw ConfigurationError("REFRAME_INFLIGHT_MB must be a positive integer") }
            c.settings.jobInFlightBudget = mb << 20
        }
        // 0: any free port (benchmarks run a private Ingest beside whatever holds 8080).
        c.httpPort = try int(env, .httpPort, default: c.httpPort, range: 0...65535)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: c.mediaRoot, isDirectory: &isDir), isDir.boolValue else {
            throw ConfigurationError("REFRAME_MEDIA_ROOT '\(c.mediaRoot)' is not a directory")
        }
        return c
    }

    private static func int(_ env: [String: String], _ variable: Variable, default value: Int, range: ClosedRange<Int>) throws -> Int {
        let name = variable.rawValue
        guard let raw = env[name] else { return value }
        guard let v = Int(raw), range.contains(v) else { throw ConfigurationError("\(name) must be an integer in \(range), got '\(raw)'") }
        return v
    }

    public var queueNames: QueueNames { QueueNames(prefix: queuePrefix) }
}

extension ServiceConfiguration {
    /// Every environment variable an operator may give a service: the compose file and the cluster
    /// manifests may set these and no others (a test holds them to it). `fromEnvironment` reads its
    /// own through this list; the HTTP API's (APIConfiguration) and the last four are read where they act.
    public enum Variable: String, CaseIterable, Sendable {
        case amqpURL = "REFRAME_AMQP_URL"
        case redisURL = "REFRAME_REDIS_URL"
        case mediaRoot = "REFRAME_MEDIA_ROOT"
        case queuePrefix = "REFRAME_QUEUE_PREFIX"
        case deliveryLimit = "REFRAME_DELIVERY_LIMIT"
        case workers = "REFRAME_WORKERS"
        case codecThreads = "REFRAME_CODEC_THREADS"
        case logLevel = "REFRAME_LOG_LEVEL"
        case amqpHeartbeat = "REFRAME_AMQP_HEARTBEAT_SECONDS"
        case shutdownGrace = "REFRAME_SHUTDOWN_GRACE_SECONDS"
        case segmentSeconds = "REFRAME_SEGMENT_SECONDS"
        case chunkFrames = "REFRAME_CHUNK_FRAMES"
        case finalizeLease = "REFRAME_FINALIZE_LEASE_SECONDS"
        case retryWindow = "REFRAME_RETRY_WINDOW_SECONDS"
        case submitRecovery = "REFRAME_SUBMIT_RECOVERY_SECONDS"
        case inFlightMB = "REFRAME_INFLIGHT_MB"
        case httpPort = "REFRAME_HTTP_PORT"
        case httpHost = "REFRAME_HTTP_HOST"
        case apiTokens = "REFRAME_API_TOKENS"
        case apiMaxBody = "REFRAME_API_MAX_BODY"
        case apiMaxUpload = "REFRAME_API_MAX_UPLOAD"
        case apiRate = "REFRAME_API_RATE"
        case metricsPort = "REFRAME_METRICS_PORT"
        case metricsHost = "REFRAME_METRICS_HOST"
        case assemblerRole = "REFRAME_ASSEMBLER_ROLE"
        case modelDirectory = "REFRAME_MODEL_DIR"
        case inferenceThreads = "REFRAME_THREADS"
        case tileMemoryMB = "REFRAME_TILE_MEMORY_MB"
    }
}

extension Dictionary where Key == String, Value == String {
    public subscript(variable: ServiceConfiguration.Variable) -> String? { self[variable.rawValue] }
}

public struct ConfigurationError: FaultClassifying, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var isTransient: Bool { false }
}
