import Foundation
import Logging
import Redis
import Synchronization

/// The production store on Redis. Blocking hiredis calls (up to 30 s on a stalled server, seconds
/// of reconnect back-off after a restart) run on a small pool of connections, each on a serial
/// dispatch queue of its own, never on Swift's cooperative threads; concurrent stages in one
/// process do not queue behind each other.
public final class RedisStore: KeyValueStore, @unchecked Sendable {
    private struct Lane {
        let connection: RedisConnection
        let queue: DispatchQueue
    }

    private let pool: [Lane]
    /// Round-robin cursor over the pool.
    private let cursor = Atomic<Int>(0)

    public init(url: String, connections: Int = 4, logger: Logger = Logger(label: "reframe.redis")) throws {
        pool = try (0..<max(1, connections)).map { n in
            Lane(connection: try RedisConnection(url: url, logger: logger), queue: DispatchQueue(label: "reframe.redis.\(n)"))
        }
    }

    private var lane: Lane {
        pool[(cursor.wrappingAdd(1, ordering: .relaxed).newValue & Int.max) % pool.count]
    }

    /// Runs a pipeline on a lane's own thread, mapping Redis' OOM answer to `StoreFullError` so
    /// callers can back off.
    @discardableResult
    private func run(_ commands: [[[UInt8]]]) async throws -> [RedisValue] {
        let lane = self.lane
        return try await withCheckedThrowingContinuation { continuation in
            lane.queue.async {
                continuation.resume(with: Result {
                    do { return try lane.connection.pipeline(commands) } catch RedisError.outOfMemory(let m) { throw StoreFullError(message: m) }
                })
            }
        }
    }

    private static func args(_ parts: String...) -> [[UInt8]] { parts.map { Array($0.utf8) } }

    public func get(_ key: String) async throws -> [UInt8]? { try await run([Self.args("GET", key)])[0].bytes }

    public func getMany(_ keys: [String]) async throws -> [[UInt8]?] {
        guard !keys.isEmpty else { return [] }
        return try await run(keys.map { Self.args("GET", $0) }).map(\.bytes)
    }

    public func setMany(_ pairs: [(String, [UInt8])], ttl: Int?) async throws {
        guard !pairs.isEmpty else { return }
        try await run(pairs.map { key, value in
            var a: [[UInt8]] = [Array("SET".utf8), Array(key.utf8), value]
            if let ttl { a += [Array("EX".utf8), Array(String(ttl).utf8)] }
            return a
        })
    }

    public func setIfAbsent(_ key: String, _ value: [UInt8], ttl: Int?) async throws -> Bool {
        var a: [[UInt8]] = [Array("SET".utf8), Array(key.utf8), value, Array("NX".utf8)]
        if let ttl { a += [Array("EX".utf8), Array(String(ttl).utf8)] }
        return try await run([a])[0] != .null
    }

    public func delete(_ keys: [String]) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        return Int(try await run([[Array("DEL".utf8)] + keys.map { Array($0.utf8) }])[0].int ?? 0)
    }

    public func memoryLimit() async throws -> Int64? {
        // INFO rather than CONFIG GET: managed Redis services often rename or forbid CONFIG.
        let info = try await run([Self.args("INFO", "memory")])[0].string ?? ""
        let line = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("maxmemory:") }
        guard let value = line.flatMap({ Int64($0.dropFirst("maxmemory:".count)) }), value > 0 else { return nil }
        return value
    }

    public func countExisting(_ keys: [String]) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        return Int(try await run([[Array("EXISTS".utf8)] + keys.map { Array($0.utf8) }])[0].int ?? 0)
    }

    public func setIfAbsent(_ key: String, _ value: [UInt8], ttl: Int?, counting increments: [String: Int64]) async throws -> Bool {
        let counters = increments.sorted { $0.key < $1.key }
        var a = Self.args("EVAL", Self.setCountingScript, String(1 + counters.count), key) + counters.map { Array($0.key.utf8) }
        a += [value, Array((ttl.map(String.init) ?? "").utf8)] + counters.map { Array(String($0.value).utf8) }
        return try await run([a])[0].int == 1
    }

    public func delete(_ key: String, counting increments: [String: Int64]) async throws -> Bool {
        let counters = increments.sorted { $0.key < $1.key }
        let a = Self.args("EVAL", Self.deleteCountingScript, String(1 + counters.count), key) + counters.map { Array($0.key.utf8) }
            + counters.map { Array(String($0.value).utf8) }
        return try await run([a])[0].int == 1
    }

    public func drainCounter(_ key: String, from total: String) async throws -> Int64 {
        try await run([Self.args("EVAL", Self.drainScript, "2", key, total)])[0].int ?? 0
    }

    public func hashSet(_ key: String, _ fields: [String: [UInt8]]) async throws {
        guard !fields.isEmpty else { return }
        var a: [[UInt8]] = [Array("HSET".utf8), Array(key.utf8)]
        for (f, v) in fields { a.append(Array(f.utf8)); a.append(v) }
        try await run([a])
    }

    public func hashGet(_ key: String, _ field: String) async throws -> [UInt8]? { try await run([Self.args("HGET", key, field)])[0].bytes }

    public func hashGetAll(_ key: String) async throws -> [String: [UInt8]] {
        let items = try await run([Self.args("HGETALL", key)])[0].array ?? []
        var out: [String: [UInt8]] = [:]
        var i = 0
        while i + 1 < items.count {
            if let f = items[i].string { out[f] = items[i + 1].bytes ?? [] }
            i += 2
        }
        return out
    }

    public func hashDelete(_ key: String, _ fields: [String]) async throws {
        guard !fields.isEmpty else { return }
        try await run([[Array("HDEL".utf8), Array(key.utf8)] + fields.map { Array($0.utf8) }])
    }

    public func increment(_ key: String, by: Int64) async throws -> Int64 {
        try await run([Self.args("INCRBY", key, String(by))])[0].int ?? 0
    }

    public func expire(_ key: String, seconds: Int) async throws { try await run([Self.args("EXPIRE", key, String(seconds))]) }

    public func sortedSetAdd(_ key: String, member: String, score: Double) async throws {
        try await run([Self.args("ZADD", key, "\(score)", member)])
    }

    public func sortedSetDescending(_ key: String, atMost max: Double, offset: Int, count: Int) async throws -> [(member: String, score: Double)] {
        let top = max == .infinity ? "+inf" : "\(max)"
        let flat = try await run([Self.args("ZREVRANGEBYSCORE", key, top, "-inf", "WITHSCORES", "LIMIT", String(offset), String(count))])[0].array ?? []
        return stride(from: 0, to: flat.count - 1, by: 2).compactMap { i in
            guard let member = flat[i].string, let score = flat[i + 1].string.flatMap(Double.init) else { return nil }
            return (member, score)
        }
    }

    public func keys(prefix: String) async throws -> [String] {
        var cursor = "0"
        var out: [String] = []
        let pattern = prefix.replacingOccurrences(of: "*", with: "\\*").replacingOccurrences(of: "?", with: "\\?") + "*"
        repeat {
            let reply = try await run([Self.args("SCAN", cursor, "MATCH", pattern, "COUNT", "500")])[0].array ?? []
            guard reply.count == 2 else { break }
            cursor = reply[0].string ?? "0"
            out += (reply[1].array ?? []).compactMap(\.string)
        } while cursor != "0"
        return out
    }

    public func hashSetCounted(_ c: CountedField, value: [UInt8]) async throws -> Bool {
        try await run([Self.countedArgs(Self.setCountedScript, c, value: value)])[0].int == 1
    }

    public func hashDeleteCounted(_ c: CountedField) async throws -> Bool {
        try await run([Self.countedArgs(Self.deleteCountedScript, c, value: nil)])[0].int == 1
    }

    /// EVAL arguments: KEYS = hash, markers, counters; ARGV = field, marker, [value], then counter/increment pairs.
    private static func countedArgs(_ script: String, _ c: CountedField, value: [UInt8]?) -> [[UInt8]] {
        var a = args("EVAL", script, "3", c.hash, c.markers, c.counters, c.field, c.marker)
        if let value { a.append(value) }
        for (name, by) in c.increments.sorted(by: { $0.key < $1.key }) { a += args(name, String(by)) }
        return a
    }

    // A Lua script runs atomically in Redis: the field, its marker and the counters change together.
    private static let setCountedScript = """
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
        if redis.call('HSETNX', KEYS[2], ARGV[2], '1') == 0 then return 0 end
        for i = 4, #ARGV, 2 do redis.call('HINCRBY', KEYS[3], ARGV[i], ARGV[i + 1]) end
        return 1
        """

    // KEYS = key, counters…; ARGV = value, ttl ('' for none), increments… (in the counters' order).
    private static let setCountingScript = """
        local set
        if ARGV[2] ~= '' then set = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) else set = redis.call('SET', KEYS[1], ARGV[1], 'NX') end
        if not set then return 0 end
        for i = 2, #KEYS do redis.call('INCRBY', KEYS[i], ARGV[i + 1]) end
        return 1
        """

    // KEYS = key, counters…; ARGV = increments… (in the counters' order).
    private static let deleteCountingScript = """
        if redis.call('DEL', KEYS[1]) == 0 then return 0 end
        for i = 2, #KEYS do redis.call('INCRBY', KEYS[i], ARGV[i - 1]) end
        return 1
        """

    // KEYS = counter, total.
    private static let drainScript = """
        local value = tonumber(redis.call('GET', KEYS[1]) or '0')
        redis.call('DEL', KEYS[1])
        if value ~= 0 then redis.call('DECRBY', KEYS[2], value) end
        return value
        """

    private static let deleteCountedScript = """
        redis.call('HDEL', KEYS[1], ARGV[1])
        if redis.call('HDEL', KEYS[2], ARGV[2]) == 0 then return 0 end
        for i = 3, #ARGV, 2 do redis.call('HINCRBY', KEYS[3], ARGV[i], -tonumber(ARGV[i + 1])) end
        return 1
        """

    /// `used_memory` from INFO memory, for benchmarks (sampled: Redis cannot reset its own peak).
    public func usedMemoryBytes() async throws -> Int {
        let info = try await run([Self.args("INFO", "memory")])[0].string ?? ""
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("used_memory:") {
            return Int(line.dropFirst("used_memory:".count)) ?? 0
        }
        return 0
    }
}
