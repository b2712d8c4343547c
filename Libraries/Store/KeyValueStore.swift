import Core

/// The subset of Redis the pipeline's layout needs. `RedisStore` in production, `InMemoryStore` in
/// the embedded mode and unit tests; the layout (`JobStore`) is written once on top of it.
public protocol KeyValueStore: Sendable {
    func get(_ key: String) async throws -> [UInt8]?
    func getMany(_ keys: [String]) async throws -> [[UInt8]?]
    /// Sets all pairs (pipelined), each with the TTL in seconds when given.
    func setMany(_ pairs: [(String, [UInt8])], ttl: Int?) async throws
    /// SET NX: returns true if the key was absent and is now set.
    func setIfAbsent(_ key: String, _ value: [UInt8], ttl: Int?) async throws -> Bool
    /// Returns how many of the keys existed.
    @discardableResult func delete(_ keys: [String]) async throws -> Int
    /// How many of the keys exist (EXISTS), without reading them.
    func countExisting(_ keys: [String]) async throws -> Int
    /// The store's memory limit in bytes (Redis `maxmemory`), nil when it has none.
    func memoryLimit() async throws -> Int64?
    /// SET NX and, only if that set the key, the increments of counters — one atomic step, so a
    /// process killed in between cannot leave a value stored but never counted (in-flight bytes).
    func setIfAbsent(_ key: String, _ value: [UInt8], ttl: Int?, counting increments: [String: Int64]) async throws -> Bool
    /// DEL and, only if the key existed, the increments of counters — one atomic step.
    @discardableResult func delete(_ key: String, counting increments: [String: Int64]) async throws -> Bool
    /// Deletes counter `key` and subtracts its value from counter `total` — one atomic step, so a
    /// repeated call subtracts nothing more. Returns the value it had.
    @discardableResult func drainCounter(_ key: String, from total: String) async throws -> Int64
    func hashSet(_ key: String, _ fields: [String: [UInt8]]) async throws
    func hashGet(_ key: String, _ field: String) async throws -> [UInt8]?
    func hashGetAll(_ key: String) async throws -> [String: [UInt8]]
    /// HDEL: removes the fields (a hash left empty is gone, as in Redis).
    func hashDelete(_ key: String, _ fields: [String]) async throws
    func increment(_ key: String, by: Int64) async throws -> Int64
    func expire(_ key: String, seconds: Int) async throws
    /// ZADD: `member` with `score` in the sorted set `key`.
    func sortedSetAdd(_ key: String, member: String, score: Double) async throws
    /// ZREVRANGEBYSCORE key max -inf WITHSCORES LIMIT offset count: the members scoring at most
    /// `max`, highest score first (equal scores: member descending), with their scores.
    func sortedSetDescending(_ key: String, atMost max: Double, offset: Int, count: Int) async throws -> [(member: String, score: Double)]
    /// Keys starting with `prefix` (SCAN; not atomic, for cleanup and tools).
    func keys(prefix: String) async throws -> [String]
    /// Sets the field and, the first time its marker is set, adds the increments — as one atomic
    /// step, so a redelivered message never counts twice and a crash never counts half.
    /// Returns whether it counted.
    func hashSetCounted(_ field: CountedField, value: [UInt8]) async throws -> Bool
    /// Deletes the field and, if its marker was set, the marker, subtracting the increments again.
    func hashDeleteCounted(_ field: CountedField) async throws -> Bool
}

/// A hash field whose first write is counted once: `marker` in the `markers` hash remembers that
/// `increments` were added to fields of the `counters` hash.
public struct CountedField: Sendable, Equatable {
    public var hash: String
    public var field: String
    public var markers: String
    public var marker: String
    public var counters: String
    public var increments: [String: Int64]

    public init(hash: String, field: String, markers: String, marker: String, counters: String, increments: [String: Int64]) {
        self.hash = hash
        self.field = field
        self.markers = markers
        self.marker = marker
        self.counters = counters
        self.increments = increments
    }
}

extension KeyValueStore {
    public func set(_ key: String, _ value: [UInt8], ttl: Int?) async throws { try await setMany([(key, value)], ttl: ttl) }
}

/// A store that refuses writes because it is full (Redis `maxmemory` with `noeviction`).
public struct StoreFullError: FaultClassifying, CustomStringConvertible, Sendable {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { "store full: \(message)" }
    /// The store, not the chunk, is short of room: waiting spends none of the message's deliveries.
    public var countsAsAttempt: Bool { false }
    /// Room comes back as other stages delete the chunks they finished (DESIGN.md §5).
    public var isTransient: Bool { true }
}
