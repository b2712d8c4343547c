import Core
import Foundation
import Logging
import Media

public enum JobState: String, Codable, Sendable {
    case queued, running, done, failed, cancelled
    public var isFinal: Bool { self == .done || self == .failed || self == .cancelled }
}

/// The job record as `reframe status` shows it.
public struct JobRecord: Sendable {
    public var id: String
    public var state: JobState
    public var spec: JobSpec?
    public var plan: JobPlan?
    public var error: String?
    /// What the user should know about a finished output: streams re-encoded, converted or left out.
    public var notes: [String] = []
    public var created: Date?
    public var updated: Date?
    /// Who submitted it over the HTTP API; nil for AMQP and CLI submissions.
    public var tenant: String?
}

/// The state of one chunk (or segment) at one stage, kept in the job's chunk hash.
public struct ChunkState: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable { case done, failed }
    public var state: State
    public var frames: Int
    /// For a finished segment: the chunks it was cut into.
    public var chunks: [ChunkRef]?
    public var error: String?

    public init(state: State, frames: Int, chunks: [ChunkRef]? = nil, error: String? = nil) {
        self.state = state
        self.frames = frames
        self.chunks = chunks
        self.error = error
    }
}

/// The Redis layout of DESIGN.md §5 on top of any `KeyValueStore`.
public struct JobStore: Sendable {
    public let kv: any KeyValueStore
    /// TTL of frame and encoded-segment keys: a stuck job cannot hold memory forever.
    public var frameTTL: Int
    /// TTL of job records after they finish.
    public var recordTTL: Int
    /// How long a write waits for room when the store is full before giving up.
    public var fullStoreTimeout: Double
    /// Where waits for room in a full store are reported.
    public var logger: Logger?

    public init(kv: any KeyValueStore, frameTTL: Int = 24 * 3600, recordTTL: Int = 7 * 24 * 3600, fullStoreTimeout: Double = 600,
                logger: Logger? = nil) {
        self.kv = kv
        self.logger = logger
        self.frameTTL = frameTTL
        self.recordTTL = recordTTL
        self.fullStoreTimeout = fullStoreTimeout
    }

    // MARK: jobs

    public func createJob(id: String, spec: JobSpec, plan: JobPlan, tenant: String? = nil) async throws {
        let now = Self.timestamp()
        var fields: [String: [UInt8]] = [
            "spec": Array(try JSONEncoder().encode(spec)), "plan": Array(try JSONEncoder().encode(plan)),
            "state": Array(JobState.running.rawValue.utf8), "created": Array(now.utf8), "updated": Array(now.utf8),
        ]
        if let tenant {
            fields["tenant"] = Array(tenant.utf8)
            // Indexed first: a listing skips an id whose record is missing, never misses a recorded job.
            try await kv.sortedSetAdd(Keys.tenantJobs(tenant), member: id, score: Date().timeIntervalSince1970)
        }
        try await kv.hashSet(Keys.job(id), fields)
    }

    /// Tenant `tenant`'s job ids created at or before `atMost` (Unix seconds), newest first (equal
    /// times: id descending), with their creation times; `offset` skips that many.
    public func tenantJobs(_ tenant: String, atMost: Double = .infinity, offset: Int = 0, count: Int) async throws -> [(id: String, created: Double)] {
        try await kv.sortedSetDescending(Keys.tenantJobs(tenant), atMost: atMost, offset: offset, count: count).map { ($0.member, $0.score) }
    }

    // MARK: submissions being queued

    /// Marks job `id` as about to be recorded with its extract messages not yet published. An HTTP
    /// submission has no broker redelivery to cover a crash between the two; the mark lets another
    /// Ingest finish the job's queueing (`IngestHandler.requeueStalled`). Set before the record,
    /// cleared once every message is published (or by the recovery, once the record is gone). One
    /// hash holds all marks, so the recovery reads them without scanning the keyspace.
    public func noteSubmitting(_ id: String) async throws {
        try await kv.hashSet(Keys.submitting, [id: Array(String(Int(Date().timeIntervalSince1970)).utf8)])
    }

    public func clearSubmitting(_ id: String) async throws { try await kv.hashDelete(Keys.submitting, [id]) }

    public func isSubmitting(_ id: String) async throws -> Bool { try await kv.hashGet(Keys.submitting, id) != nil }

    /// Ids of the submissions marked at least `age` seconds ago.
    public func stalledSubmissions(olderThan age: Double) async throws -> [String] {
        let now = Date().timeIntervalSince1970
        return try await kv.hashGetAll(Keys.submitting).compactMap { id, value in
            guard let started = Double(String(decoding: value, as: UTF8.self)), now - started >= age else { return nil }
            return id
        }
    }

    /// Ids of every job whose record exists (a scan: for listing, not for hot paths).
    public func jobIds() async throws -> [String] {
        let prefix = Keys.job("")
        return try await kv.keys(prefix: prefix).compactMap { key in
            let id = key.dropFirst(prefix.count)
            return id.contains(":") ? nil : String(id)
        }
    }

    /// Records a job that was refused at ingest, so a client that chose the id can read why.
    public func recordRejected(id: String, specBody: [UInt8], error: String) async throws {
        let now = Self.timestamp()
        try await kv.hashSet(Keys.job(id), [
            "specBody": specBody, "state": Array(JobState.failed.rawValue.utf8), "error": Array(error.utf8),
            "created": Array(now.utf8), "updated": Array(now.utf8),
        ])
        try await kv.expire(Keys.job(id), seconds: recordTTL)
    }

    public func job(_ id: String) async throws -> JobRecord? {
        let h = try await kv.hashGetAll(Keys.job(id))
        guard let stateBytes = h["state"] else { return nil }
        let string = { (f: String) in h[f].map { String(decoding: $0, as: UTF8.self) } }
        return JobRecord(
            id: id, state: JobState(rawValue: String(decoding: stateBytes, as: UTF8.self)) ?? .failed,
            spec: try h["spec"].map { try JSONDecoder().decode(JobSpec.self, from: Data($0)) },
            plan: try h["plan"].map { try JSONDecoder().decode(JobPlan.self, from: Data($0)) },
            error: string("error"), notes: try h["notes"].map { try JSONDecoder().decode([String].self, from: Data($0)) } ?? [],
            created: string("created").flatMap(Self.date), updated: string("updated").flatMap(Self.date), tenant: string("tenant"))
    }

    /// The job's state alone (nil: no such job), without reading its spec and plan.
    public func state(_ id: String) async throws -> JobState? {
        try await kv.hashGet(Keys.job(id), "state").map { JobState(rawValue: String(decoding: $0, as: UTF8.self)) ?? .failed }
    }

    public func plan(_ id: String) async throws -> JobPlan {
        guard let plan = try await job(id)?.plan else { throw StoreError.missing("job \(id) has no plan (expired or never ingested)") }
        return plan
    }

    public func setState(_ id: String, _ state: JobState, error: String? = nil) async throws {
        var fields: [String: [UInt8]] = ["state": Array(state.rawValue.utf8), "updated": Array(Self.timestamp().utf8)]
        if let error { fields["error"] = Array(error.utf8) }
        try await kv.hashSet(Keys.job(id), fields)
        if state.isFinal {
            for key in [Keys.job(id), Keys.chunks(id), Keys.countedFields(id)] { try await kv.expire(key, seconds: recordTTL) }
        }
    }

    /// Records the notes about a job's output (a redone finalize writes the same ones again).
    public func setNotes(_ id: String, _ notes: [String]) async throws {
        try await kv.hashSet(Keys.job(id), ["notes": Array(try JSONEncoder().encode(notes)), "updated": Array(Self.timestamp().utf8)])
    }

    /// Records why a job is failing without ending it (its other chunks go on).
    public func setError(_ id: String, _ error: String) async throws {
        try await kv.hashSet(Keys.job(id), ["error": Array(error.utf8), "updated": Array(Self.timestamp().utf8)])
    }

    /// Marks the job done and counts one completed finalize run (`JobCounts.finalized`) in one
    /// atomic step. `run` names this finalize run, so every run that gets here counts.
    public func markFinalized(_ id: String, run: String) async throws {
        let field = CountedField(hash: Keys.job(id), field: "state", markers: Keys.countedFields(id), marker: "finalized:\(run)",
                                 counters: Keys.job(id), increments: [JobCounts.Field.finalized.rawValue: 1])
        _ = try await kv.hashSetCounted(field, value: Array(JobState.done.rawValue.utf8))
        try await setState(id, .done)
    }

    // MARK: chunk states

    /// Records a chunk's (or segment's) state; the job's counters change in the same atomic step.
    public func markChunk(_ id: String, field: String, _ state: ChunkState) async throws {
        let value = Array(try JSONEncoder().encode(state))
        guard let counted = countedField(id, field: field, state: state) else {
            return try await kv.hashSet(Keys.chunks(id), [field: value])
        }
        _ = try await kv.hashSetCounted(counted, value: value)
    }

    /// Forgets a failed chunk state (before a retry), taking it out of the job's counters.
    public func clearFailure(_ id: String, field: String) async throws {
        guard let counted = countedField(id, field: field, state: ChunkState(state: .failed, frames: 0)) else { return }
        _ = try await kv.hashDeleteCounted(counted)
    }

    /// Forgets that a stage finished a chunk, so it runs again (a retry whose stored output expired);
    /// a counted mark leaves the job's counters too.
    public func forgetDone(_ id: String, field: String) async throws {
        let counted = countedField(id, field: field, state: ChunkState(state: .done, frames: 0))
            ?? CountedField(hash: Keys.chunks(id), field: field, markers: Keys.countedFields(id), marker: field, counters: Keys.job(id), increments: [:])
        _ = try await kv.hashDeleteCounted(counted)
    }

    private func countedField(_ id: String, field: String, state: ChunkState) -> CountedField? {
        JobCounts.increments(field: field, state: state).map {
            CountedField(hash: Keys.chunks(id), field: field, markers: Keys.countedFields(id), marker: $0.marker,
                         counters: Keys.job(id), increments: $0.increments)
        }
    }

    /// The job's counters: constant work however many chunks it has.
    public func counts(_ id: String) async throws -> JobCounts {
        var hash: [String: [UInt8]] = [:]
        for f in JobCounts.Field.allCases { hash[f.rawValue] = try await kv.hashGet(Keys.job(id), f.rawValue) }
        return JobCounts(hash: hash)
    }

    public func chunkStates(_ id: String) async throws -> [String: ChunkState] {
        var out: [String: ChunkState] = [:]
        for (field, value) in try await kv.hashGetAll(Keys.chunks(id)) {
            out[field] = try? JSONDecoder().decode(ChunkState.self, from: Data(value))
        }
        return out
    }

    public func chunkState(_ id: String, field: String) async throws -> ChunkState? {
        try await kv.hashGet(Keys.chunks(id), field).flatMap { try? JSONDecoder().decode(ChunkState.self, from: Data($0)) }
    }

    // MARK: frames in progress (a display hint, never a count)

    /// Records how many frames of a chunk a stage has finished so far.
    public func setFramesInProgress(_ id: String, field: String, frames: Int) async throws {
        try await kv.hashSet(Keys.framesInProgress(id), [field: Array(String(frames).utf8)])
        try await kv.expire(Keys.framesInProgress(id), seconds: frameTTL)
    }

    /// Forgets a chunk's frames in progress (it is marked done, or its attempt ended).
    public func clearFramesInProgress(_ id: String, field: String) async throws {
        try await kv.hashDelete(Keys.framesInProgress(id), [field])
    }

    /// Frames in progress by chunk-state field.
    public func framesInProgress(_ id: String) async throws -> [String: Int] {
        try await kv.hashGetAll(Keys.framesInProgress(id)).compactMapValues { Int(String(decoding: $0, as: UTF8.self)) }
    }

    // MARK: frames

    /// Stores a chunk (frames first, manifest last, so a manifest always means complete frames).
    /// Counts its bytes as in flight once, even if a redelivered message stores it again.
    /// Returns the stored (compressed) bytes of its frames.
    @discardableResult
    public func putChunk(key: String, jobId: String, manifest: ChunkManifest, frames: [VideoFrame]) async throws -> Int64 {
        var pairs: [(String, [UInt8])] = []
        var stored = 0
        for (n, frame) in frames.enumerated() {
            let compressed = try FrameCompression.compress(frame.data)
            stored += compressed.count
            pairs.append((Keys.frame(key, n), compressed))
        }
        try await whenRoom { try await kv.setMany(pairs, ttl: frameTTL) }
        let body = Array(try JSONEncoder().encode(StoredManifest(manifest: manifest, storedBytes: stored)))
        // The manifest and the in-flight counts change together: a worker killed in between would
        // leave the job's and the cluster's counts apart for good (the kill storm found that).
        let counts = [Keys.inFlight(jobId): Int64(stored), Keys.clusterInFlight: Int64(stored)]
        let fresh = try await whenRoom { try await kv.setIfAbsent(key, body, ttl: frameTTL, counting: counts) }
        if fresh {
            try await kv.expire(Keys.inFlight(jobId), seconds: frameTTL)
        } else {
            try await whenRoom { try await kv.set(key, body, ttl: frameTTL) }
        }
        return Int64(stored)
    }

    /// Whether a chunk can still be loaded: its manifest and every frame are there (frames expire
    /// by TTL a moment before their manifest).
    public func chunkIsComplete(key: String) async throws -> Bool {
        let stored: StoredManifest
        do { stored = try await storedManifest(key) } catch is StoreError { return false }
        let frames = (0..<stored.manifest.storedFrames).map { Keys.frame(key, $0) }
        return try await kv.countExisting(frames) == frames.count
    }

    public func manifest(key: String) async throws -> ChunkManifest {
        try await storedManifest(key).manifest
    }

    private func storedManifest(_ key: String) async throws -> StoredManifest {
        guard let body = try await kv.get(key) else { throw StoreError.missing("chunk \(key) (expired, deleted or never stored)") }
        do { return try JSONDecoder().decode(StoredManifest.self, from: Data(body)) } catch {
            throw StoreError.corrupt("manifest \(key): \(error)")
        }
    }

    public func loadChunk(key: String) async throws -> (ChunkManifest, [VideoFrame]) {
        let manifest = try await manifest(key: key)
        let expected = try PlaneLayout(width: manifest.width, height: manifest.height, pixelFormat: manifest.pixelFormat).byteCount
        let blobs = try await kv.getMany((0..<manifest.storedFrames).map { Keys.frame(key, $0) })
        var frames: [VideoFrame] = []
        frames.reserveCapacity(blobs.count)
        for (n, blob) in blobs.enumerated() {
            guard let blob else { throw StoreError.missing("frame \(n) of \(key)") }
            frames.append(VideoFrame(width: manifest.width, height: manifest.height, pixelFormat: manifest.pixelFormat,
                                     data: try FrameCompression.decompress(blob, expectedSize: expected), pts: manifest.pts[n]))
        }
        return (manifest, frames)
    }

    /// Deletes a chunk and releases its in-flight bytes (once, however often it is called).
    public func deleteChunk(key: String, jobId: String) async throws {
        guard let stored = try? await storedManifest(key) else { return }
        try await kv.delete((0..<stored.manifest.storedFrames).map { Keys.frame(key, $0) })
        try await kv.delete(key, counting: [Keys.inFlight(jobId): -Int64(stored.storedBytes), Keys.clusterInFlight: -Int64(stored.storedBytes)])
    }

    public func inFlightBytes(jobId: String?) async throws -> Int64 {
        let key = jobId.map(Keys.inFlight) ?? Keys.clusterInFlight
        return (try await kv.get(key)).flatMap { Int64(String(decoding: $0, as: UTF8.self)) } ?? 0
    }

    // MARK: encoded segments

    /// Returns the bytes stored.
    @discardableResult
    public func putEncoded(jobId: String, chunk: Int, _ segment: EncodedSegment) async throws -> Int64 {
        let bytes = try segment.serialized()
        try await whenRoom { try await kv.set(Keys.encoded(jobId, chunk: chunk), bytes, ttl: frameTTL) }
        return Int64(bytes.count)
    }

    public func encoded(jobId: String, chunk: Int) async throws -> EncodedSegment {
        guard let bytes = try await kv.get(Keys.encoded(jobId, chunk: chunk)) else {
            throw StoreError.missing("encoded segment of chunk \(chunk)")
        }
        return try EncodedSegment(serialized: bytes)
    }

    // MARK: locks and cleanup

    public func acquireFinalizeLock(jobId: String, owner: String, ttl: Int) async throws -> Bool {
        try await kv.setIfAbsent(Keys.finalizeLock(jobId), Array(owner.utf8), ttl: ttl)
    }

    public func releaseFinalizeLock(jobId: String) async throws { try await kv.delete([Keys.finalizeLock(jobId)]) }

    /// Extends the finalize lock's life (a no-op once it is gone).
    public func renewFinalizeLock(jobId: String, ttl: Int) async throws { try await kv.expire(Keys.finalizeLock(jobId), seconds: ttl) }

    /// True for the first chunk to claim the job's finalize announcement, and again for that same chunk.
    public func claimFinalize(jobId: String, chunk: Int) async throws -> Bool {
        let me = Array(String(chunk).utf8)
        if try await kv.setIfAbsent(Keys.finalizeClaim(jobId), me, ttl: recordTTL) { return true }
        return try await kv.get(Keys.finalizeClaim(jobId)) == me
    }

    /// Deletes every frame and encoded key of a job and its in-flight counter.
    public func purgeFrames(jobId: String) async throws {
        let keys = try await kv.keys(prefix: Keys.framesPrefix(jobId))
        for batch in stride(from: 0, to: keys.count, by: 500).map({ Array(keys[$0..<min($0 + 500, keys.count)]) }) {
            try await kv.delete(batch)
        }
        // Read, delete and subtract in one step: a purge repeated after a kill subtracts nothing twice.
        try await kv.drainCounter(Keys.inFlight(jobId), from: Keys.clusterInFlight)
        try await kv.delete([Keys.finalizeClaim(jobId), Keys.framesInProgress(jobId)])
    }

    /// Retries a write while the store answers "full", with back-off (DESIGN.md §5 backpressure).
    @discardableResult
    func whenRoom<T>(_ write: () async throws -> T) async throws -> T {
        let started = Date()
        var delay = 0.05
        var refused = false
        while true {
            do {
                let result = try await write()
                if refused { logger?.notice("store has room again", metadata: ["waited_s": "\(String(format: "%.1f", Date().timeIntervalSince(started)))"]) }
                return result
            } catch let error as StoreFullError {
                if !refused { logger?.warning("store full; waiting for room", metadata: ["error": "\(error)"]) }
                refused = true
                guard Date().timeIntervalSince(started) < fullStoreTimeout else { throw error }
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                delay = min(delay * 2, 2)
            }
        }
    }

    /// Milliseconds, so jobs created in one second still list in the order they came.
    static func timestamp() -> String { preciseFormatter().string(from: Date()) }
    /// Reads both forms: records written before times had milliseconds are still in the store.
    static func date(_ s: String) -> Date? { preciseFormatter().date(from: s) ?? ISO8601DateFormatter().date(from: s) }
    private static func preciseFormatter() -> ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }
}

/// The manifest as stored, with the compressed size for in-flight accounting.
struct StoredManifest: Codable {
    var manifest: ChunkManifest
    var storedBytes: Int
}

public enum StoreError: FaultClassifying, CustomStringConvertible, Sendable {
    case missing(String)
    case corrupt(String)

    /// Data that is gone or unreadable stays so: the chunk needs `reframe retry`, not another delivery.
    public var isTransient: Bool { false }

    public var description: String {
        switch self {
        case .missing(let m): return "missing in store: \(m)"
        case .corrupt(let m): return "corrupt in store: \(m)"
        }
    }
}
