import Foundation

/// A RabbitMQ and a Redis of one's own, started with `scripts/services.sh` as `scripts/test.sh`
/// does: a fresh run directory and free loopback ports (AMQP, plus AMQP+1000 for epmd and
/// AMQP+20000 for Erlang distribution). For tools that set up everything they measure themselves.
public final class PrivateServices: @unchecked Sendable {
    public let runDirectory: String
    public let amqpPort: Int
    public let redisPort: Int
    private let lock = NSLock()
    private var stopped = false

    public var amqpURL: String { "amqp://guest:guest@127.0.0.1:\(amqpPort)/" }
    public var redisURL: String { "redis://127.0.0.1:\(redisPort)/0" }
    /// What `scripts/services.sh` needs to find them (for `restart-redis`, `restart-rabbit`, `stop`).
    public var environment: [String: String] {
        ["REFRAME_RUN_DIR": runDirectory, "REFRAME_AMQP_PORT": String(amqpPort), "REFRAME_REDIS_PORT": String(redisPort)]
    }

    private init(runDirectory: String, amqpPort: Int, redisPort: Int) {
        self.runDirectory = runDirectory
        self.amqpPort = amqpPort
        self.redisPort = redisPort
    }

    /// Starts both (a minute at most); stops whatever did start if that fails.
    public static func start() throws -> PrivateServices {
        var template = Array("/tmp/reframe-services-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ServiceCluster.Failure.notConfigured("cannot create a run directory in /tmp") }
        var rng = SystemRandomNumberGenerator()
        let amqp = try freePort(in: 20000..<40000, alsoFree: [1000, 20000], using: &rng)
        let redis = try freePort(in: 41000..<44000, alsoFree: [], using: &rng)
        let services = PrivateServices(runDirectory: String(cString: made), amqpPort: amqp, redisPort: redis)
        do { try ServiceCluster.services("start", environment: services.environment) } catch {
            services.stop()
            throw error
        }
        return services
    }

    /// Stops the broker, the store, their epmd and any service recorded in the run directory (by
    /// their pids), then deletes the directory. Safe to call more than once, from any thread.
    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        _ = try? ServiceCluster.services("stop", environment: environment)
        try? FileManager.default.removeItem(atPath: runDirectory)
    }

    deinit { stop() }

    /// A port `p` in `range` such that `p` and `p + offset` for every offset can be bound on loopback now.
    static func freePort(in range: Range<Int>, alsoFree offsets: [Int], using rng: inout SystemRandomNumberGenerator) throws -> Int {
        for _ in 0..<1000 {
            let p = Int.random(in: range, using: &rng)
            if ([0] + offsets).allSatisfy({ canBind(p + $0) }) { return p }
        }
        throw ServiceCluster.Failure.notConfigured("no free port in \(range)")
    }

    static func canBind(_ port: Int) -> Bool {
        #if os(Linux)
        let stream = Int32(SOCK_STREAM.rawValue)
        #else
        let stream = SOCK_STREAM
        #endif
        let fd = socket(AF_INET, stream, 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
