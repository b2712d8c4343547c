import Foundation

/// Starts the five service executables as separate processes against the broker and store the
/// test command started (REFRAME_AMQP_URL / REFRAME_REDIS_URL), isolated by a queue prefix.
///
/// Every process is recorded in `$REFRAME_RUN_DIR/services/<pid>` until it is stopped, so
/// `scripts/services.sh stop` ends whatever a crashed test left; the services also end themselves
/// when the test process is gone (`REFRAME_EXIT_WITH_PARENT`).
public final class ServiceCluster {
    public let amqpURL: String
    public let redisURL: String
    public let prefix: String
    public let mediaRoot: String
    public let binDir: String
    private var processes: [(name: String, process: Process)] = []
    private let extraEnvironment: [String: String]
    private let serviceEnvironment: [String: String]
    /// Where each service's output goes (`<name>.log`), when asked for; else the test's own output.
    public let logDirectory: String?
    /// `$REFRAME_RUN_DIR/services`, where running services are recorded by pid.
    private let pidDirectory: String?
    /// Where Ingest's HTTP API listens (127.0.0.1, or Ingest's host's address), a port free when the cluster started.
    public let httpPort: Int
    public let httpHost: String
    /// The host each service runs on, when not this machine (a multi-host test's `VirtualLAN`), by service name.
    private let hosts: [String: (host: VirtualLAN.Host, launcher: [String])]
    /// Bearer tokens of the API tenants `apiTenants` (named `<tenant>-<prefix>` in Ingest), by tenant,
    /// configured for Ingest by their hashes.
    public let apiTokens: [String: String]
    /// The test tenants: two ordinary ones and `slow`, limited to one request per two seconds.
    public static let apiTenants = ["alpha", "beta", "slow"]
    private let tokensFile: String

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

    public convenience init(mediaRoot: String, extraEnvironment: [String: String] = [:], logDirectory: String? = nil) throws {
        let env = ProcessInfo.processInfo.environment
        guard let amqp = env["REFRAME_AMQP_URL"], let redis = env["REFRAME_REDIS_URL"] else {
            throw Failure.notConfigured("REFRAME_AMQP_URL and REFRAME_REDIS_URL must point at a running RabbitMQ and Redis: run the tests with scripts/test.sh")
        }
        try self.init(mediaRoot: mediaRoot, amqpURL: amqp, redisURL: redis, binDir: Self.binDir(), runDirectory: env["REFRAME_RUN_DIR"],
                      extraEnvironment: extraEnvironment, logDirectory: logDirectory)
    }

    /// A cluster on a broker and store given explicitly (a tool that started its own), from the
    /// executables in `binDir`; `runDirectory` is where `scripts/services.sh` records service pids.
    /// `placement` puts services on hosts of `lan` (service name → host name); the others run here.
    /// `only` starts just those services (`reframe bench api` runs Ingest alone).
    public init(mediaRoot: String, amqpURL amqp: String, redisURL redis: String, binDir: String, runDirectory: String?,
                extraEnvironment: [String: String] = [:], logDirectory: String? = nil,
                lan: VirtualLAN? = nil, placement: [String: String] = [:], only: [String] = ServiceCluster.services) throws {
        let env = ProcessInfo.processInfo.environment
        amqpURL = amqp
        redisURL = redis
        prefix = "test-\(UUID().uuidString.prefix(8).lowercased())"
        self.mediaRoot = mediaRoot
        self.extraEnvironment = extraEnvironment
        self.binDir = binDir
        var serviceEnv = env
        serviceEnv["REFRAME_AMQP_URL"] = amqp
        serviceEnv["REFRAME_REDIS_URL"] = redis
        serviceEnv["REFRAME_MEDIA_ROOT"] = mediaRoot
        serviceEnv["REFRAME_QUEUE_PREFIX"] = prefix
        serviceEnv["REFRAME_LOG_LEVEL"] = env["REFRAME_TEST_LOG_LEVEL"] ?? "warning"
        serviceEnv["REFRAME_EXIT_WITH_PARENT"] = "1"
        var hosts: [String: (host: VirtualLAN.Host, launcher: [String])] = [:]
        for (service, hostName) in placement {
            guard let lan, let host = lan.hosts[hostName] else { throw Failure.notConfigured("no host '\(hostName)' for \(service)") }
            hosts[service] = (host, try lan.launcher(on: hostName))
        }
        self.hosts = hosts
        httpPort = try Self.freePort()
        httpHost = hosts["Ingest"]?.host.address ?? "127.0.0.1"
        serviceEnv["REFRAME_HTTP_HOST"] = httpHost
        serviceEnv["REFRAME_HTTP_PORT"] = String(httpPort)
        var tokens: [String: String] = [:]
        var lines = ""
        for tenant in Self.apiTenants {
            let token = "\(tenant)-\(UUID().uuidString)"
            tokens[tenant] = token
            // Tenants named per cluster: clusters share one Redis, and a listing must see only its own jobs.
            lines += "\(Self.sha256(token)) \(tenant)-\(prefix)\(tenant == "slow" ? " 0.5" : "")\n"
        }
        apiTokens = tokens
        // Outside the media root, so no upload can replace it.
        tokensFile = NSTemporaryDirectory() + "reframe-api-tokens-\(prefix).txt"
        try lines.write(toFile: tokensFile, atomically: true, encoding: .utf8)
        serviceEnv["REFRAME_API_TOKENS"] = tokensFile
        for (k, v) in extraEnvironment { serviceEnv[k] = v }
        serviceEnvironment = serviceEnv
        self.logDirectory = logDirectory
        pidDirectory = runDirectory.map { "\($0)/services" }
        if let logDirectory { try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true) }
        if let pidDirectory { try FileManager.default.createDirectory(atPath: pidDirectory, withIntermediateDirectories: true) }
        for name in Self.services where only.contains(name) { try start(name) }
    }

    public static let services = ["Ingest", "Extractor", "Upscaler", "Interpolator", "Assembler"]

    /// Extra instances by pid: their log name and own settings, so `restartEnded` starts them alike.
    private var instances: [Int32: (label: String, environment: [String: String])] = [:]
    /// The metrics port of each process by pid (`/metrics`, `/healthz`, `/readyz` on 127.0.0.1).
    private var metricsPorts: [Int32: Int] = [:]

    private func start(_ name: String, label: String? = nil, environment: [String: String] = [:]) throws {
        var environment = environment
        // A second Ingest cannot share the first one's HTTP port.
        if name == "Ingest", label != nil, environment["REFRAME_HTTP_PORT"] == nil { environment["REFRAME_HTTP_PORT"] = String(try Self.freePort()) }
        let p = Process()
        let executable = "\(binDir)/\(name)"
        if let launcher = hosts[name]?.launcher {
            p.executableURL = URL(fileURLWithPath: launcher[0])
            p.arguments = Array(launcher.dropFirst()) + [executable]
        } else {
            p.executableURL = URL(fileURLWithPath: executable)
        }
        // Each process its own metrics port (on loopback, or its host's address), so five services
        // (and extra instances) share a host.
        let port = try Self.freePort()
        let metrics = ["REFRAME_METRICS_HOST": hosts[name]?.host.address ?? "127.0.0.1", "REFRAME_METRICS_PORT": "\(port)"]
        p.environment = serviceEnvironment.merging(metrics) { $1 }.merging(environment) { $1 }
        if let logDirectory {
            let path = "\(logDirectory)/\(label ?? name).log"
            if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            log.seekToEndOfFile()
            p.standardOutput = log
            p.standardError = log
        }
        try p.run()
        if let pidDirectory { FileManager.default.createFile(atPath: "\(pidDirectory)/\(p.processIdentifier)", contents: Data(name.utf8)) }
        processes.append((name, p))
        metricsPorts[p.processIdentifier] = port
        if let label { instances[p.processIdentifier] = (label, environment) }
    }

    /// Starts one more instance of service `name` with settings of its own (e.g. another broker URL);
    /// `label` names its log (`log(label)`). Returns its pid.
    @discardableResult
    public func startInstance(_ name: String, label: String, environment: [String: String]) throws -> Int32 {
        try start(name, label: label, environment: environment)
        return processes.last!.process.processIdentifier
    }

    /// The metrics ports of the running processes of service `name` (`http://127.0.0.1:<port>/metrics`).
    public func metricsPorts(_ name: String) -> [Int] {
        pids(name).compactMap { metricsPorts[$0] }
    }

    /// The pids of the running processes of service `name`.
    public func pids(_ name: String) -> [Int32] {
        processes.filter { $0.name == name && $0.process.isRunning }.map(\.process.processIdentifier)
    }

    /// Prints the end of each service's log: what a failed test shows to explain itself.
    public func printLogTails(characters: Int = 3000) {
        for name in Self.services { print("--- \(name) log (tail) ---\n\(log(name).suffix(characters))") }
    }

    /// A service's output so far (with `logDirectory`).
    public func log(_ name: String) -> String {
        guard let logDirectory, let data = FileManager.default.contents(atPath: "\(logDirectory)/\(name).log") else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Runs `scripts/services.sh <command>` on the broker and store the test command started
    /// (its ports and run directory come from the environment that test command exported, or from
    /// `environment`); returns what it printed.
    @discardableResult
    public static func services(_ command: String, _ arguments: [String] = [], environment: [String: String] = [:],
                                launcher: [String] = []) throws -> String {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/services.sh").path
        let p = Process()
        // `launcher`: run it on another host (`VirtualLAN.launcher(on:)`).
        p.executableURL = URL(fileURLWithPath: launcher.first ?? script)
        p.arguments = Array(launcher.dropFirst()) + (launcher.isEmpty ? [] : [script]) + [command] + arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        // A file, not a pipe: a daemon the script leaves behind could hold a pipe open forever.
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("reframe-services-\(UUID().uuidString.prefix(8)).out")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        p.standardOutput = try FileHandle(forWritingTo: output)
        try p.run()
        let status = reap(p)
        guard status == 0 else { throw Failure.notConfigured("services.sh \(command) exited \(status)") }
        return (try? String(contentsOf: output, encoding: .utf8)) ?? ""
    }

    /// Waits for `p` by polling waitpid: Foundation's `waitUntilExit` was seen to hang on a script
    /// that left a daemon behind (the child stayed a zombie, never reaped).
    private static func reap(_ p: Process) -> Int32 {
        while true {
            var status: Int32 = 0
            let r = waitpid(p.processIdentifier, &status, WNOHANG)
            if r == p.processIdentifier { return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f) }
            // Reaped by Foundation meanwhile: its own status is valid then.
            if r < 0 { return p.isRunning ? -1 : p.terminationStatus }
            usleep(50_000)
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
        for (_, p) in processes where p.isRunning { p.terminate() }
        for (_, p) in processes {
            p.waitUntilExit()
            if let pidDirectory { try? FileManager.default.removeItem(atPath: "\(pidDirectory)/\(p.processIdentifier)") }
        }
        processes = []
        try? FileManager.default.removeItem(atPath: tokensFile)
    }

    /// Starts again every service that ended (as a supervisor would); returns their names.
    @discardableResult
    public func restartEnded() throws -> [String] {
        var restarted: [String] = []
        for (i, entry) in processes.enumerated().reversed() where !entry.process.isRunning {
            if let pidDirectory { try? FileManager.default.removeItem(atPath: "\(pidDirectory)/\(entry.process.processIdentifier)") }
            processes.remove(at: i)
            let instance = instances.removeValue(forKey: entry.process.processIdentifier)
            try start(entry.name, label: instance?.label, environment: instance?.environment ?? [:])
            restarted.append(entry.name)
        }
        return restarted
    }

    /// Sends `signal` to the running process of service `name` (SIGKILL: as a crash or the OOM
    /// killer would); false when none runs.
    @discardableResult
    public func signal(_ name: String, _ signal: Int32) -> Bool {
        guard let p = processes.first(where: { $0.name == name && $0.process.isRunning })?.process else { return false }
        return kill(p.processIdentifier, signal) == 0
    }

    /// Names of the services whose process is running now.
    public var runningServices: [String] { processes.filter(\.process.isRunning).map(\.name) }

    /// Whether every service process is still alive (none crashed).
    public var allRunning: Bool { processes.allSatisfy(\.process.isRunning) }

    /// The services that ended, with how (exit status or signal), for failure messages.
    public var ended: [String] {
        processes.filter { !$0.process.isRunning }.map { name, p in
            "\(name) \(p.terminationReason == .uncaughtSignal ? "killed by signal" : "exited") \(p.terminationStatus)"
        }
    }

    deinit { stop() }
}
