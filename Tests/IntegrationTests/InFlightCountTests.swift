import Core
import Foundation
import Media
import Redis
import Store
import XCTest

/// In-flight bytes change in the same atomic step as the chunk they count (the kill storm once left
/// the cluster's count 1.2 MB below zero): storing a chunk twice counts it once, deleting it twice
/// uncounts it once, and a purge repeated after a kill subtracts the job's bytes once — in Redis
/// (Lua scripts) exactly as in the in-memory twin.
final class InFlightCountTests: XCTestCase {
    func stores() throws -> [(String, any KeyValueStore)] {
        // An integration test: without the real store it fails rather than skipping.
        let url = try XCTUnwrap(ProcessInfo.processInfo.environment["REFRAME_REDIS_URL"],
                                "REFRAME_REDIS_URL must point at a running Redis: run the tests with scripts/test.sh")
        return [("redis", try RedisStore(url: url, connections: 2)), ("memory", InMemoryStore())]
    }

    func testChunkBytesAreCountedOnceAndReleasedOnce() async throws {
        for (name, kv) in try stores() {
            let jobs = JobStore(kv: kv)
            let (a, b) = ("inflight-\(UUID().uuidString.lowercased())", "inflight-\(UUID().uuidString.lowercased())")
            let clusterBefore = try await jobs.inFlightBytes(jobId: nil)
            let frame = try VideoFrameFixture.frame()
            let manifest = ChunkManifest(width: 16, height: 16, pixelFormat: "yuv420p", timeBase: Rational(1, 30), pts: [0],
                                         sceneCut: [false], lookahead: false, endPts: 1)
            for id in [a, b] {
                for _ in 0..<2 { try await jobs.putChunk(key: Keys.chunk(id, stage: .extract, chunk: 0), jobId: id, manifest: manifest, frames: [frame]) }
                try await jobs.putChunk(key: Keys.chunk(id, stage: .upscale, chunk: 0), jobId: id, manifest: manifest, frames: [frame])
            }
            let one = try await jobs.inFlightBytes(jobId: a) / 2
            XCTAssertGreaterThan(one, 0, name)
            let cluster = try await jobs.inFlightBytes(jobId: nil)
            XCTAssertEqual(cluster - clusterBefore, 4 * one, "\(name): a chunk stored again counts once")

            for _ in 0..<2 { try await jobs.deleteChunk(key: Keys.chunk(a, stage: .extract, chunk: 0), jobId: a) }
            let left = try await jobs.inFlightBytes(jobId: a)
            XCTAssertEqual(left, one, "\(name): a chunk deleted again uncounts once")
            for _ in 0..<2 { try await jobs.purgeFrames(jobId: a) }
            let afterPurge = try await jobs.inFlightBytes(jobId: nil)
            XCTAssertEqual(afterPurge - clusterBefore, 2 * one, "\(name): a repeated purge subtracts the job's bytes once")
            try await jobs.purgeFrames(jobId: b)
            let end = try await jobs.inFlightBytes(jobId: nil)
            XCTAssertEqual(end, clusterBefore, name)
            let keys = try await kv.keys(prefix: Keys.framesPrefix(a)) + kv.keys(prefix: Keys.inFlight(a))
            XCTAssertEqual(keys, [], name)
        }
    }
}

private enum VideoFrameFixture {
    static func frame() throws -> VideoFrame {
        var frame = try VideoFrame(width: 16, height: 16, pixelFormat: "yuv420p", pts: 0)
        for i in frame.data.indices { frame.data[i] = UInt8(i % 251) }
        return frame
    }
}
