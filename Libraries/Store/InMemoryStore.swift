import Foundation

/// A process-local store with Redis semantics for the commands the pipeline uses, including TTLs
/// and an optional memory limit that refuses writes like `maxmemory` + `noeviction`.
public actor InMemoryStore: KeyValueStore {
    private enum Value {
        case bytes([UInt8])
        case hash([String: [UInt8]])
        case sortedSet([String: Double])

        var size: Int {
            switch self {
            case .bytes(let b): return b.count
            case .hash(let h): return h.reduce(0) { $0 + $1.key.utf8.count + $1.value.count }
            case .sortedSet(let z): return z.reduce(0) { $0 + $1.key.utf8.count + 8 }
            }
        }
    }

    private var values: [String: Value] = [:]
    private var expiry: [String: Date] = [:]
    private let maxBytes: Int?
    private(set) var usedBytes = 0
    /// Highest `usedBytes` seen, for benchmarks.
    public private(set) var peakBytes = 0

    public init(maxBytes: Int? = nil) { self.maxBytes = maxBytes }

    private func live(_ key: String) -> Value? {
        if let e = expiry[key], e < Date() { remove(key) }
        return values[key]
    }

    private func remove(_ key: String) {
        if let v = values.removeValue(forKey: key) { usedBytes -= v.size + key.utf8.count }
        expiry.removeValue(forKey: key)
    }

    private func store(_ key: String, _ value: Value) throws {
        let old = values[key].map { $0.size + key.utf8.count } ?? 0
        let new = value.size + key.utf8.count
        if let maxBytes, new > old, usedBytes - old + new > maxBytes {
            throw StoreFullError(message: "OOM command not allowed when used memory > 'maxmemory'")
        }
        values[key] = value
        usedBytes += new - old
        peakBytes = max(peakBytes, usedBytes)
    }

    public func get(_ key: String) throws -> [UInt8]? {
        if case .bytes(let b)? = live(key) { return b }
        return nil
    }

    public func getMany(_ keys: [String]) throws -> [[UInt8]?] { try keys.map { try get($0) } }

    public func setMany(_ pairs: [(String, [UInt8])], ttl: Int?) throws {
        for (k, v) in pairs {
            try store(k, .bytes(v))
            if let ttl { expiry[k] = Date().addingTimeInterval(Double(ttl)) } else { expiry.removeValue(forKey: k) }
        }
    }

    public func setIfAbsent(_ key: String, _ value: [UInt8], ttl: Int?) throws -> Bool {
        guard live(key) == nil else { return false }
        try setMany([(key, value)], ttl: ttl)
        return true
    }

    public func memoryLimit() -> Int64? { maxBytes.map(Int64.init) }

    public func countExisting(_ keys: [String]) -> Int {
        keys.filter { live($0) != nil }.count
    }

    public func setIfAbsent(_ key: String, _ value: [UInt8], ttl: Int?, counting increments: [String: Int64]) throws -> Bool {
        guard try setIfAbsent(key, value, ttl: ttl) else { return false }
        for (counter, by) in increments { _ = try increment(counter, by: by) }
        return true
    }

    public func delete(_ key: String, counting increments: [String: Int64]) throws -> Bool {
        guard delete([key]) == 1 else { return false }
        for (counter, by) in increments { _ = try increment(counter, by: by) }
        return true
    }

    public func drainCounter(_ key: String, from total: String) throws -> Int64 {
        let value = (try get(key)).flatMap { Int64(String(decoding: $0, as: UTF8.self)) } ?? 0
        delete([key])
        if value != 0 { _ = try increment(total, by: -value) }
        return value
    }

    public func delete(_ keys: [String]) -> Int {
        var n = 0
        for k in keys where live(k) != nil {
            remove(k)
            n += 1
        }
        return n
    }

    public func hashSet(_ key: String, _ fields: [String: [UInt8]]) throws {
        var h: [String: [UInt8]] = [:]
        if case .hash(let existing)? = live(key) { h = existing }
        for (f, v) in fields { h[f] = v }
        try store(key, .hash(h))
    }

    public func hashGet(_ key: String, _ field: String) -> [UInt8]? { hashGetAll(key)[field] }

    public func hashGetAll(_ key: String) -> [String: [UInt8]] {
        if case .hash(let h)? = live(key) { return h }
        return [:]
    }

    public func increment(_ key: String, by: Int64) throws -> Int64 {
        let current = (try get(key)).flatMap { Int64(String(decoding: $0, as: UTF8.self)) } ?? 0
        let next = current + by
        try store(key, .bytes(Array(String(next).utf8)))
        return next
    }

    public func expire(_ key: String, seconds: Int) {
        guard live(key) != nil else { return }
        expiry[key] = Date().addingTimeInterval(Double(seconds))
    }

    public func hashSetCounted(_ c: CountedField, value: [UInt8]) throws -> Bool {
        try hashSet(c.hash, [c.field: value])
        guard hashGet(c.markers, c.marker) == nil else { return false }
        try hashSet(c.markers, [c.marker: [49]])
        try addCounts(c, sign: 1)
        return true
    }

    public func hashDeleteCounted(_ c: CountedField) throws -> Bool {
        try hashDelete(c.hash, c.field)
        guard hashGet(c.markers, c.marker) != nil else { return false }
        try hashDelete(c.markers, c.marker)
        try addCounts(c, sign: -1)
        return true
    }

    private func hashDelete(_ key: String, _ field: String) throws { try hashDelete(key, [field]) }

    public func hashDelete(_ key: String, _ fields: [String]) throws {
        guard case .hash(var h)? = live(key) else { return }
        for field in fields { h.removeValue(forKey: field) }
        if h.isEmpty { remove(key) } else { try store(key, .hash(h)) }
    }

    private func addCounts(_ c: CountedField, sign: Int64) throws {
        var counters = hashGetAll(c.counters)
        for (name, by) in c.increments {
            let now = counters[name].flatMap { Int64(String(decoding: $0, as: UTF8.self)) } ?? 0
            counters[name] = Array(String(now + sign * by).utf8)
        }
        try store(c.counters, .hash(counters))
    }

    public func sortedSetAdd(_ key: String, member: String, score: Double) throws {
        var z: [String: Double] = [:]
        if case .sortedSet(let existing)? = live(key) { z = existing }
        z[member] = score
        try store(key, .sortedSet(z))
    }

    public func sortedSetDescending(_ key: String, atMost max: Double, offset: Int, count: Int) -> [(member: String, score: Double)] {
        guard case .sortedSet(let z)? = live(key) else { return [] }
        let sorted = z.filter { $0.value <= max }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key > $1.key }
        return sorted.dropFirst(offset).prefix(count).map { ($0.key, $0.value) }
    }

    public func keys(prefix: String) -> [String] {
        values.keys.filter { $0.hasPrefix(prefix) && live($0) != nil }.sorted()
    }
}
