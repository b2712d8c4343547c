import Core
import Foundation
import Media
import Pipeline
import Redis
import Store
import TestSupport
import XCTest

/// A store much smaller than the job (issue 10, DESIGN.md §5): Redis with `maxmemory` 64 MB and
/// `noeviction`. The extractor waits for in-flight budget, so a long input finishes without the
/// store ever passing its limit; a store filled up by someone else mid-job makes the stages back
/// off and retry, never lose or fail a chunk.
final class BackpressureTests: XCTestCase {
    static let maxmemory: Int64 = 64 << 20
    static let fillerKeys = 400
    var dir = ""
    var cluster: ServiceCluster?
    var redis: RedisConnection!
    var originalMaxmemory = "0"

    override func setUpWithError() throws {
        dir = try MediaChecks.temporaryDirectory("backpressure")
        guard let url = ProcessInfo.processInfo.environment["REFRAME_REDIS_URL"] else {
            throw ServiceCluster.Failure.notConfigured("REFRAME_REDIS_URL must point at the test command's Redis: run scripts/test.sh")
        }
        redis = try RedisConnection(url: url)
        originalMaxmemory = try info("maxmemory") ?? "0"
        // A restart with the small limit also starts `used_memory_peak` afresh (CONFIG RESETSTAT keeps it).
        try ServiceCluster.services("restart-redis", environment: ["REFRAME_REDIS_MAXMEMORY": "\(Self.maxmemory)"])
        redis = try RedisConnection(url: url)
        XCTAssertEqual(try info("maxmemory"), "\(Self.maxmemory)")
    }

    override func tearDown() {
        cluster?.stop()
        if let run = testRun, run.totalFailureCount > 0 {
            cluster?.printLogTails(characters: 3000)
        }
        _ = try? redis?.command([Array("DEL".utf8)] + (0..<Self.fillerKeys).map { Array(fillerKey($0).utf8) })
        _ = try? redis?.command("CONFIG", "SET", "maxmemory", originalMaxmemory)
        try? FileManager.default.removeItem(atPath: dir)
    }

    func fillerKey(_ n: Int) -> String { "\(cluster?.prefix ?? "test"):filler:\(n)" }

    /// A field of `INFO memory`.
    func info(_ field: String) throws -> String? {
        let text = try redis.command("INFO", "memory").string ?? ""
        return text.split(whereSeparator: \.isNewline).first { $0.hasPrefix("\(field):") }.map { String($0.dropFirst(field.count + 1)) }
    }

    func startCluster() throws {
        // Info level: the extractor says when it waits for budget.
        cluster = try ServiceCluster(mediaRoot: dir, extraEnvironment: ["REFRAME_LOG_LEVEL": "info"], logDirectory: "\(dir)/logs")
    }

    func testTwoMinuteJobFinishesWithoutTheStorePassingItsLimit() async throws {
        // 2 minutes at 30 fps, 320×240: ~400 MB of raw frames, upscaled ×2 to four times that.
        var o = SyntheticClip.Options()
        o.frames = 3600
        try SyntheticClip.write(path: "\(dir)/long.mp4", options: o)
        try startCluster()
        let cluster = try XCTUnwrap(cluster)
        let started = Date()
        let id = try cluster.reframe(["submit", "--source", "long.mp4", "--output", "out.mp4", "--upscale", "2"])
        let status = try cluster.reframe(["watch", id, "--interval", "0.5", "--timeout", "900"])
        XCTAssertTrue(status.contains("done"), status)
        let seconds = Date().timeIntervalSince(started)
        let peak = try XCTUnwrap(Int64(try info("used_memory") == nil ? "" : try info("used_memory_peak") ?? ""))
        XCTAssertLessThan(peak, Self.maxmemory, "the store never passed its limit")
        XCTAssertTrue(cluster.log("Extractor").contains("over in-flight budget; waiting"), "the extractor waited for budget")
        XCTAssertFalse(ServiceCluster.services.contains { cluster.log($0).contains("store full") }, "the budget kept the store from filling")
        XCTAssertEqual(try cluster.reframe(["chunks", "list", id, "--failed", "--json"]), "", "no chunk failed")

        // Lossy encoding here: lossless segments of two minutes would not fit the 64 MB store (encoded
        // segments wait in Redis for finalize). libx264's lossy output may differ by a few levels
        // between runs (MediaChecks.losslessEncoding), so the bound is PSNR, far above what a lost,
        // repeated or misplaced chunk of this moving pattern would give.
        _ = try cluster.reframe(["process", "\(dir)/long.mp4", "-o", "\(dir)/reference.mp4", "--quiet", "--upscale", "2"])
        let match = try FrameComparison.worstPSNR("\(dir)/out.mp4", from: "\(dir)/reference.mp4")
        XCTAssertEqual([match.frames, match.referenceFrames], [3600, 3600])
        XCTAssertGreaterThan(match.psnr, 45, "every frame matches the embedded run's")
        let jobs = JobStore(kv: try RedisStore(url: cluster.redisURL, connections: 1))
        let inFlight = try await jobs.inFlightBytes(jobId: id)
        XCTAssertEqual(inFlight, 0)
        print("backpressure: 3600 frames in \(String(format: "%.1f", seconds)) s, used_memory_peak \(peak >> 20) MB of \(Self.maxmemory >> 20) MB, worst PSNR against the embedded run \(match.psnr) dB")
    }

    func testStoreFilledMidJobMakesStagesBackOffAndLosesNothing() async throws {
        var o = SyntheticClip.Options()
        o.frames = 300
        o.keyframeInterval = 30
        try SyntheticClip.write(path: "\(dir)/clip.mp4", options: o)
        try startCluster()
        let cluster = try XCTUnwrap(cluster)
        let spec = ["--upscale", "2", "--interpolate", "2", "--interp-model", "blend"]
        let id = try cluster.reframe(["submit", "--source", "clip.mp4", "--output", "out.mp4"] + spec)
        let jobs = JobStore(kv: try RedisStore(url: cluster.redisURL, connections: 1))
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let states = try await jobs.chunkStates(id)
            if states.keys.contains(where: { $0.hasSuffix(":upscale") }) { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        // Someone else keeps the store full for 5 s, topping it up 256 kB at a time until Redis says
        // OOM whenever the pipeline's deletions made room: the pipeline's writes are refused.
        let block = [UInt8](repeating: 1, count: 256 << 10)
        var fillers = 0, refusals = 0
        let until = Date().addingTimeInterval(5)
        while Date() < until {
            while fillers < Self.fillerKeys {
                do { try redis.command([Array("SET".utf8), Array(fillerKey(fillers).utf8), block]) } catch RedisError.outOfMemory {
                    refusals += 1
                    break
                }
                fillers += 1
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTAssertGreaterThan(refusals, 0, "the store was full")
        let refused = ServiceCluster.services.filter { cluster.log($0).contains("store full") }
        try redis.command([Array("DEL".utf8)] + (0..<Self.fillerKeys).map { Array(fillerKey($0).utf8) })

        let status = try cluster.reframe(["watch", id, "--interval", "0.2", "--timeout", "300"])
        XCTAssertTrue(status.contains("done"), status)
        XCTAssertFalse(refused.isEmpty, "some stage met the full store while it was full")
        XCTAssertEqual(try cluster.reframe(["chunks", "list", id, "--failed", "--json"]), "", "no chunk failed")
        XCTAssertTrue(cluster.allRunning, "\(cluster.ended)")
        _ = try cluster.reframe(["process", "\(dir)/clip.mp4", "-o", "\(dir)/reference.mp4", "--quiet"] + spec)
        // Lossy, as in the long test: lossless segments could outgrow the small store.
        let match = try FrameComparison.worstPSNR("\(dir)/out.mp4", from: "\(dir)/reference.mp4")
        XCTAssertEqual([match.frames, match.referenceFrames], [600, 600])
        XCTAssertGreaterThan(match.psnr, 45, "every frame matches the embedded run's")
        print("backpressure: store full for 5 s; stages that backed off: \(refused)")
    }
}
