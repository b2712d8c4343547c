import Core
import Foundation
import Redis
import Store
import XCTest

/// The job's counters change once per chunk state, however often a redelivered message records it,
/// in Redis (a Lua script) exactly as in the in-memory twin.
final class JobCountsTests: XCTestCase {
    func stores() throws -> [(String, any KeyValueStore)] {
        // An integration test: without the real store it fails rather than skipping.
        let url = try XCTUnwrap(ProcessInfo.processInfo.environment["REFRAME_REDIS_URL"],
                                "REFRAME_REDIS_URL must point at a running Redis: run the tests with scripts/test.sh")
        return [("redis", try RedisStore(url: url, connections: 4)), ("memory", InMemoryStore())]
    }

    func testRedeliveredStatesCountOnceAndRetriesUncount() async throws {
        for (name, kv) in try stores() {
            let jobs = JobStore(kv: kv)
            let id = "counts-\(UUID().uuidString.lowercased())"
            let refs = (0..<3).map { ChunkRef(index: $0 * 10, firstFrame: $0 * 10, frameCount: 10, lookahead: false) }
            for _ in 0..<2 { try await jobs.markChunk(id, field: Keys.segmentField(0), ChunkState(state: .done, frames: 30, chunks: refs)) }
            // Redeliveries racing each other: one count.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 { group.addTask { try await jobs.markChunk(id, field: Keys.chunkField(0, .encode), ChunkState(state: .done, frames: 10)) } }
                try await group.waitForAll()
            }
            for _ in 0..<2 { try await jobs.markChunk(id, field: Keys.chunkField(10, .upscale), ChunkState(state: .failed, frames: 0, error: "boom")) }
            var c = try await jobs.counts(id)
            XCTAssertEqual([c.segmentsExtracted, c.chunksPlanned, c.chunksEncoded, c.chunksFailed], [1, 3, 1, 1], name)
            XCTAssertFalse(c.settledWithFailures(segments: 1), "\(name): chunk 20 still on its way")

            try await jobs.markChunk(id, field: Keys.chunkField(20, .encode), ChunkState(state: .done, frames: 10))
            c = try await jobs.counts(id)
            XCTAssertTrue(c.settledWithFailures(segments: 1), name)
            XCTAssertFalse(c.allEncoded(segments: 1), name)

            // A retry clears the failure once; the chunk then counts as encoded.
            for _ in 0..<2 { try await jobs.clearFailure(id, field: Keys.chunkField(10, .upscale)) }
            let cleared = try await jobs.chunkState(id, field: Keys.chunkField(10, .upscale))
            XCTAssertNil(cleared, name)
            try await jobs.markChunk(id, field: Keys.chunkField(10, .upscale), ChunkState(state: .done, frames: 10))
            try await jobs.markChunk(id, field: Keys.chunkField(10, .encode), ChunkState(state: .done, frames: 10))
            c = try await jobs.counts(id)
            XCTAssertEqual([c.chunksEncoded, c.chunksFailed], [3, 0], name)
            XCTAssertTrue(c.allEncoded(segments: 1), name)
            XCTAssertFalse(c.allEncoded(segments: 2), "\(name): a segment not yet extracted holds finalize back")
            try await jobs.setState(id, .done)
            try await kv.delete([Keys.job(id), Keys.chunks(id), Keys.countedFields(id)])
        }
    }
}
