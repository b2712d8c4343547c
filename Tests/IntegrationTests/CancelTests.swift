import Core
import Foundation
import Media
import Pipeline
import Redis
import Store
import TestSupport
import XCTest

/// `reframe cancel` stops a running job: it is marked cancelled, workers drop its messages, and no
/// frame of it stays in the store. The tools' exit codes say what happened.
final class CancelTests: XCTestCase {
    var dir = ""
    var cluster: ServiceCluster!

    override func setUpWithError() throws {
        dir = try MediaChecks.temporaryDirectory("cancel")
        var o = SyntheticClip.Options()
        o.frames = 240
        o.keyframeInterval = 30
        try SyntheticClip.write(path: "\(dir)/clip.mp4", options: o)
        cluster = try ServiceCluster(mediaRoot: dir, extraEnvironment: ["REFRAME_SEGMENT_SECONDS": "1", "REFRAME_CHUNK_FRAMES": "10"])
    }

    override func tearDown() {
        cluster?.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    func testCancelStopsTheJobAndLeavesNoFrames() async throws {
        let jobs = JobStore(kv: try RedisStore(url: cluster.redisURL, connections: 1))
        let id = try cluster.reframe(["submit", "--source", "clip.mp4", "--output", "out.mp4", "--upscale", "2"])
        // Wait until frames are in flight.
        for _ in 0..<300 where try await jobs.kv.keys(prefix: Keys.framesPrefix(id)).isEmpty {
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        XCTAssertEqual(try cluster.reframe(["cancel", id]), "job \(id) cancelled")
        let state = try await jobs.job(id)?.state
        XCTAssertEqual(state, .cancelled)
        // Messages still queued are dropped with their inputs; a step in hand when it was cancelled
        // (an extractor storing a segment's chunks one by one) purges the job again when it ends. So
        // the store is clean once no key and no in-flight byte is left; a moment with no key alone
        // can fall between two chunks of that extractor.
        var left: [String] = []
        var bytes: Int64 = -1
        for _ in 0..<100 {
            left = try await jobs.kv.keys(prefix: Keys.framesPrefix(id))
            bytes = try await jobs.inFlightBytes(jobId: id)
            if left.isEmpty && bytes == 0 { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTAssertEqual(left, [], "no frame keys of a cancelled job remain")
        XCTAssertEqual(bytes, 0, "no bytes of a cancelled job count as in flight")
        let after = try await jobs.job(id)?.state
        XCTAssertEqual(after, .cancelled, "no worker revived it")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/out.mp4"))
        XCTAssertThrowsError(try cluster.reframe(["cancel", id])) { XCTAssertTrue("\($0)".contains("exited 1"), "\($0)") }
        XCTAssertThrowsError(try cluster.reframe(["chunks", "list", UUID().uuidString])) { XCTAssertTrue("\($0)".contains("exited 2"), "\($0)") }
        XCTAssertTrue(cluster.allRunning, "\(cluster.ended)")
    }
}
