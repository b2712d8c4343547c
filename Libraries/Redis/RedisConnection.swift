import CHiredis
import Core
import Foundation
import Logging

/// A blocking, binary-safe Redis connection over hiredis. Thread-safe (calls are serialised);
/// callers run it on a thread of its own (it blocks). A broken connection is logged and, on the
/// next command, re-established with capped back-off for up to `reconnectWindow` seconds.
/// Commands that failed mid-flight are not retried here, because the caller alone knows whether
/// they are idempotent.
public final class RedisConnection: @unchecked Sendable {
    private let endpoint: RedisEndpoint
    private let lock = NSLock()
    private var context: UnsafeMutablePointer<redisContext>?
    private let connectTimeout: Double
    private let reconnectWindow: Double
    private let backoff = Backoff(initial: 0.05, maximum: 1)
    private let logger: Logger
    /// When the connection broke, until it is back: for the log line that says how long it took.
    private var lostAt: Date?

    public init(url: String, connectTimeout: Double = 5, reconnectWindow: Double = 5,
                logger: Logger = Logger(label: "reframe.redis")) throws {
        // hiredis writes with write(2), which raises SIGPIPE on a socket Redis has closed.
        ProcessSignals.ignoreBrokenPipe()
        endpoint = try RedisEndpoint(url: url)
        self.connectTimeout = connectTimeout
        self.reconnectWindow = reconnectWindow
        self.logger = logger
        lock.lock()
        defer { lock.unlock() }
        try connectLocked()
    }

    deinit { if let context { redisFree(context) } }

    /// Runs one command; arguments are raw bytes so values may be binary.
    @discardableResult
    public func command(_ args: [[UInt8]]) throws -> RedisValue {
        try pipeline([args])[0]
    }

    @discardableResult
    public func command(_ args: String...) throws -> RedisValue {
        try command(args.map { Array($0.utf8) })
    }

    /// Sends all commands, then reads all replies: one round trip. Error replies come back as thrown
    /// errors after every reply is read, so the connection stays in step.
    public func pipeline(_ commands: [[[UInt8]]]) throws -> [RedisValue] {
        lock.lock()
        defer { lock.unlock() }
        if context == nil { try reconnectLocked() }
        guard let ctx = context else { throw RedisError.connection("not connected") }
        for args in commands { try append(ctx, args) }
        var replies: [RedisValue] = []
        replies.reserveCapacity(commands.count)
        var firstError: RedisError?
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(ctx, &raw) == REDIS_OK, let reply = raw?.assumingMemoryBound(to: redisReply.self) else {
                let message = errorMessage(ctx)
                lostLocked(message)
                throw RedisError.connection(message)
            }
            defer { freeReplyObject(raw) }
            do { replies.append(try Self.convert(reply)) } catch let e as RedisError {
                firstError = firstError ?? e
                replies.append(.null)
            }
        }
        if let firstError { throw firstError }
        return replies
    }

    private func append(_ ctx: UnsafeMutablePointer<redisContext>, _ args: [[UInt8]]) throws {
        // Lay all arguments out in one buffer so their pointers stay valid for the call.
        let total = args.reduce(0) { $0 + $1.count }
        var flat = [UInt8]()
        flat.reserveCapacity(total)
        var lengths = [Int]()
        lengths.reserveCapacity(args.count)
        for a in args { flat.append(contentsOf: a); lengths.append(a.count) }
        let status: Int32 = flat.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(bitPattern: 1)!
            var pointers: [UnsafePointer<CChar>?] = []
            pointers.reserveCapacity(args.count)
            var offset = 0
            for n in lengths {
                pointers.append((base + offset).assumingMemoryBound(to: CChar.self))
                offset += n
            }
            return pointers.withUnsafeMutableBufferPointer { p in
                lengths.withUnsafeBufferPointer { l in
                    redisAppendCommandArgv(ctx, Int32(args.count), p.baseAddress, l.baseAddress)
                }
            }
        }
        guard status == REDIS_OK else {
            let message = errorMessage(ctx)
            lostLocked(message)
            throw RedisError.connection(message)
        }
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) throws -> RedisValue {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            guard let str = r.str else { return .bulk([]) }
            return .bulk(Array(UnsafeRawBufferPointer(start: str, count: Int(r.len))))
        case REDIS_REPLY_STATUS:
            return .status(r.str.map { String(cString: $0) } ?? "")
        case REDIS_REPLY_INTEGER:
            return .integer(r.integer)
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ARRAY:
            var items: [RedisValue] = []
            items.reserveCapacity(Int(r.elements))
            for i in 0..<Int(r.elements) {
                guard let element = r.element[i] else { items.append(.null); continue }
                items.append(try convert(element))
            }
            return .array(items)
        case REDIS_REPLY_ERROR:
            let message = r.str.map { String(cString: $0) } ?? "unknown error"
            if message.hasPrefix("OOM") { throw RedisError.outOfMemory(message) }
            throw RedisError.server(message)
        default:
            throw RedisError.server("unexpected reply type \(r.type)")
        }
    }

    private func errorMessage(_ ctx: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: ctx.pointee.errstr) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    private func dropLocked() {
        if let context { redisFree(context) }
        context = nil
    }

    /// The connection broke (Redis restarted, the link dropped, a command timed out).
    private func lostLocked(_ message: String) {
        dropLocked()
        if lostAt == nil { lostAt = Date() }
        logger.warning("Redis connection lost; reconnecting on the next command", metadata: [
            "redis": "\(endpoint.host):\(endpoint.port)", "error": "\(message)"])
    }

    /// Capped back-off for up to `reconnectWindow` seconds, so a restarting Redis is ridden out;
    /// after that the caller gets a (transient) connection error and decides how long to wait.
    private func reconnectLocked() throws {
        let started = Date()
        var attempt = 0
        while true {
            do {
                try connectLocked()
                if let lostAt {
                    logger.notice("Redis reconnected", metadata: [
                        "redis": "\(endpoint.host):\(endpoint.port)", "attempts": "\(attempt + 1)",
                        "down_s": "\(String(format: "%.2f", Date().timeIntervalSince(lostAt)))"])
                    self.lostAt = nil
                }
                return
            } catch {
                if lostAt == nil { lostAt = Date() }
                let delay = backoff.delay(attempt: attempt)
                attempt += 1
                guard Date().timeIntervalSince(started) + delay < reconnectWindow else {
                    logger.warning("Redis unreachable", metadata: [
                        "redis": "\(endpoint.host):\(endpoint.port)", "error": "\(error)", "attempts": "\(attempt)"])
                    throw error
                }
                logger.debug("Redis reconnect failed; backing off", metadata: ["error": "\(error)", "delay_s": "\(delay)"])
                Thread.sleep(forTimeInterval: delay)
            }
        }
    }

    private func connectLocked() throws {
        let seconds = Int(connectTimeout)
        let tv = timeval(tv_sec: seconds, tv_usec: Int((connectTimeout - Double(seconds)) * 1e6))
        guard let ctx = redisConnectWithTimeout(endpoint.host, Int32(endpoint.port), tv) else {
            throw RedisError.connection("cannot allocate context")
        }
        if ctx.pointee.err != 0 {
            let message = errorMessage(ctx)
            redisFree(ctx)
            throw RedisError.connection("\(endpoint.host):\(endpoint.port): \(message)")
        }
        context = ctx
        // Commands must not hang forever on a dead peer.
        _ = redisSetTimeout(ctx, timeval(tv_sec: 30, tv_usec: 0))
        if let password = endpoint.password {
            try runLocked(["AUTH", password])
        }
        if endpoint.database != 0 { try runLocked(["SELECT", String(endpoint.database)]) }
    }

    private func runLocked(_ args: [String]) throws {
        guard let ctx = context else { return }
        try append(ctx, args.map { Array($0.utf8) })
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(ctx, &raw) == REDIS_OK, let reply = raw?.assumingMemoryBound(to: redisReply.self) else {
            let message = errorMessage(ctx)
            dropLocked()
            throw RedisError.connection(message)
        }
        defer { freeReplyObject(raw) }
        do { _ = try Self.convert(reply) } catch {
            // A refused AUTH or SELECT (or LOADING while Redis reads its AOF) leaves no usable connection.
            dropLocked()
            throw error
        }
    }
}
