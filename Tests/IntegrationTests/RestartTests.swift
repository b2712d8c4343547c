import Core
import Foundation
import Media
import Pipeline
import Redis
import Store
import TestSupport
import XCTest

/// Redis and the whole RabbitMQ node restarted once in the middle of a job run by the five
/// services as separate processes (issue 10): no service dies, the job finishes, and its frames
/// decode identical to a fault-free run of the same spec.
final class RestartTests: XCTestCase {
    var dir = ""
    var cluster: ServiceCluster!
    /// 4 s at 30 fps in 1 s segments and 10-frame chunks: 12 chunks, each through upscale,
    /// interpolate (the cheap blend model) and encode, so a restart lands while every stage has work.
    static let environment = ["REFRAME_SEGMENT_SECONDS": "1", "REFRAME_CHUNK_FRAMES": "10", "REFRAME_LOG_LEVEL": "notice"]
    static let spec = ["--upscale", "2", "--interpolate", "2", "--interp-model", "blend"] + MediaChecks.losslessEncoding

    override func setUpWithError() throws {
        dir = try MediaChecks.temporaryDirectory("restart")
        try MediaChecks.writeClip("\(dir)/clip.mp4", frames: 120, keyframeInterval: 30)
        cluster = try ServiceCluster(mediaRoot: dir, extraEnvironment: Self.environment, logDirectory: "\(dir)/logs")
    }

    override func tearDown() {
        cluster?.stop()
        if let run = testRun, run.totalFailureCount > 0 {
            cluster?.printLogTails(characters: 3000)
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    func testRedisRestartMidJob() async throws {
        let figures = try await runJob(restarting: "restart-redis")
        // Every service that had work in hand met the dead connections, logged it and reconnected.
        let reconnects = ServiceCluster.services.flatMap { downTimes(in: cluster.log($0), after: "Redis reconnected") }
        XCTAssertFalse(reconnects.isEmpty, "some service logged its reconnection to Redis")
        for name in ServiceCluster.services where cluster.log(name).contains("Redis connection lost") {
            XCTAssertTrue(cluster.log(name).contains("Redis reconnected"), "\(name) logged the loss and came back")
        }
        print("restart-redis: restart took \(figures.restart) s, job \(figures.job) s, reconnected after \(reconnects.map { String(format: "%.2f", $0) }) s")
    }

    /// The cause of the silent deaths: hiredis writes with write(2), so a large command on a
    /// connection Redis closed raised SIGPIPE and ended the process without a word. Now the write
    /// fails with a (transient) connection error, and the next command reconnects.
    func testLargeWriteToARestartedRedisFailsInsteadOfKillingTheProcess() throws {
        let connection = try RedisConnection(url: cluster.redisURL)
        try connection.command("PING")
        try ServiceCluster.services("restart-redis")
        let value = [UInt8](repeating: 7, count: 32 << 20)
        let key = Array("\(cluster.prefix):big".utf8)
        do {
            try connection.command([Array("SET".utf8), key, value])
            XCTFail("a write on the closed connection cannot succeed")
        } catch let error as RedisError {
            guard case .connection = error else { return XCTFail("expected a connection error, got \(error)") }
            XCTAssertTrue(error.isTransient)
        }
        try connection.command([Array("SET".utf8), key, value])
        XCTAssertEqual(try connection.command([Array("STRLEN".utf8), key]), .integer(32 << 20))
        try connection.command([Array("DEL".utf8), key])
    }

    func testRabbitMQNodeRestartMidJob() async throws {
        let figures = try await runJob(restarting: "restart-rabbit")
        // Each service's consumer connection was closed by the stopping node and re-established.
        var reconnects: [Double] = []
        for name in ServiceCluster.services {
            let times = downTimes(in: cluster.log(name), after: "AMQP reconnected")
            XCTAssertFalse(times.isEmpty, "\(name) logged its AMQP reconnection")
            reconnects += times
        }
        print("restart-rabbit: restart took \(figures.restart) s, job \(figures.job) s, reconnected after \(reconnects.map { String(format: "%.2f", $0) }) s")
    }

    /// Submits the job, restarts the dependency once work is under way at every stage, waits for the
    /// job and compares its frames with `reframe process` of the same spec (no faults).
    func runJob(restarting command: String) async throws -> (restart: String, job: String) {
        let started = Date()
        let id = try cluster.reframe(["submit", "--source", "clip.mp4", "--output", "out.mp4"] + Self.spec)
        let jobs = JobStore(kv: try RedisStore(url: cluster.redisURL, connections: 1))
        let before = try await cluster.progress(id, jobs) { p in
            p.stages.contains { $0.stage == .interpolate && $0.chunksDone >= 1 } || p.state.isFinal
        }
        XCTAssertEqual(before.state, .running, "the restart happens mid-job")
        let encodedBefore = before.stages.first { $0.stage == .encode }?.chunksDone ?? 0
        let restartStarted = Date()
        try ServiceCluster.services(command)
        let restart = String(format: "%.1f", Date().timeIntervalSince(restartStarted))

        let after = try await cluster.progress(id, jobs, timeout: 300) { $0.state.isFinal }
        XCTAssertEqual(after.state, .done, after.error ?? "")
        XCTAssertTrue(cluster.allRunning, "no service process died: \(cluster.ended)")
        XCTAssertLessThan(encodedBefore, after.chunksTotal, "chunks were still to encode when the restart began")
        XCTAssertTrue(after.failedChunks.isEmpty, "\(after.failedChunks)")
        let job = String(format: "%.1f", Date().timeIntervalSince(started))

        _ = try cluster.reframe(["process", "\(dir)/clip.mp4", "-o", "\(dir)/reference.mp4", "--quiet"] + Self.spec)
        XCTAssertEqual(try MediaChecks.frames("\(dir)/out.mp4").count, 240)
        XCTAssertEqual(try MediaChecks.differingFrames("\(dir)/out.mp4", from: "\(dir)/reference.mp4"), [],
                       "every decoded frame equals the fault-free run's")
        return (restart, job)
    }

    /// The `down_s` values of the log lines carrying `message`.
    func downTimes(in log: String, after message: String) -> [Double] {
        log.split(separator: "\n").filter { $0.contains(message) }.compactMap { line in
            guard let r = line.range(of: "down_s=") else { return nil }
            return Double(line[r.upperBound...].prefix { $0.isNumber || $0 == "." })
        }
    }
}
