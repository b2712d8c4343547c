import Foundation

/// Starts the five service executables as separate processes against the broker and store the
/// test command started (REFRAME_AMQP_URL / REFRAME_REDIS_URL), isolated by a queue prefix.
public final class ServiceCluster {
    public let amqpURL: String
    public let redisURL: String
    public let prefix: String
    public let mediaRoot: String
    public let binDir: String
    private var processes: [Process] = []
    private let extraEnvironment: [String: String]

    public enum Failure: Error, CustomStringConvertible {
        case notConfigured(String)
        public var description: String {
            switch self {
            case .notConfigured(let m): return m
            }
        }
    }

    /// The directory holding the built executables: $REFRAME_BIN_DIR, else beside the test bundle.
    public static func binDir() -> String {
        if let dir = ProcessInfo.processInfo.environment["REFRAME_BIN_DIR"] { return dir }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        while url.path != "/" && !url.lastPathComponent.hasSuffix(".xctest") { url.deleteLastPathComponent() }
        return url.path == "/" ? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path : url.deletingLastPathComponent().path
    }

    public init(mediaRoot: String, extraEnvironment: [String: String] = [:]) throws {
        let env = ProcessInfo.processInfo.environment
        guard let amqp = env["REFRAME_AMQP_URL"], let redis = env["REFRAME_REDIS_URL"] else {
            throw Failure.notConfigured("REFRAME_AMQP_URL and REFRAME_REDIS_URL must point at a running RabbitMQ and Redis: run the tests with scripts/test.sh")
        }
        amqpURL = amqp
        redisURL = redis
        prefix = "test-\(UUID().uuidString.prefix(8).lowercased())"
        self.mediaRoot = mediaRoot
        self.extraEnvironment = extraEnvironment
        binDir = Self.binDir()
        var serviceEnv = env
        serviceEnv["REFRAME_MEDIA_ROOT"] = mediaRoot
        serviceEnv["REFRAME_QUEUE_PREFIX"] = prefix
        serviceEnv["REFRAME_LOG_LEVEL"] = env["REFRAME_TEST_LOG_LEVEL"] ?? "warning"
        for (k, v) in extraEnvironment { serviceEnv[k] = v }
        for name in ["Ingest", "Extractor", "Upscaler", "Interpolator", "Assembler"] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "\(binDir)/\(name)")
            p.environment = serviceEnv
            try p.run()
            processes.append(p)
        }
    }

    public var environment: [String: String] {
        extraEnvironment.merging(["REFRAME_AMQP_URL": amqpURL, "REFRAME_REDIS_URL": redisURL, "REFRAME_QUEUE_PREFIX": prefix]) { $1 }
    }

    /// Runs the `reframe` tool with the cluster's environment; returns trimmed stdout.
    @discardableResult
    public func reframe(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "\(binDir)/reframe")
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard p.terminationStatus == 0 else { throw Failure.notConfigured("reframe \(args.joined(separator: " ")) exited \(p.terminationStatus): \(text)") }
        return text
    }

    public func stop() {
        for p in processes where p.isRunning { p.terminate() }
        for p in processes { p.waitUntilExit() }
        processes = []
    }

    /// Whether every service process is still alive (none crashed).
    public var allRunning: Bool { processes.allSatisfy(\.isRunning) }

    deinit { stop() }
}
