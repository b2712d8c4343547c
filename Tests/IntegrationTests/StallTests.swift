import Core
import Foundation
import Media
import Pipeline
import Store
import TestSupport
import XCTest

/// Redis frozen (SIGSTOP) for 10 s in the middle of a job run by the five services as separate
/// processes (issue 10): every service keeps its broker connections (heartbeats go on with a 2 s
/// interval, so a frozen I/O thread would be dropped), a service blocked on Redis still stops on
/// SIGTERM within its shutdown grace and leaves its message to the broker, and once Redis runs again
/// the job finishes with frames identical to a fault-free run.
final class StallTests: XCTestCase {
    var dir = ""
    var cluster: ServiceCluster!
    static let freeze = 10.0
    static let grace = 3.0
    static let environment = RestartTests.environment.merging([
        "REFRAME_AMQP_HEARTBEAT_SECONDS": "2", "REFRAME_SHUTDOWN_GRACE_SECONDS": "\(grace)"]) { $1 }
    /// Services worth stopping, stages doing the heavy work first.
    static let candidates = ["Interpolator", "Upscaler", "Assembler", "Extractor", "Ingest"]

    override func setUpWithError() throws {
        dir = try MediaChecks.temporaryDirectory("stall")
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

    func testRedisFrozenMidJob() async throws {
        let redisPid = try Self.redisPid()
        let amqpPort = try XCTUnwrap(URLComponents(string: cluster.amqpURL)?.port)
        let redisPort = try XCTUnwrap(URLComponents(string: cluster.redisURL)?.port)
        let id = try cluster.reframe(["submit", "--source", "clip.mp4", "--output", "out.mp4"] + RestartTests.spec)
        let jobs = JobStore(kv: try RedisStore(url: cluster.redisURL, connections: 1))
        let before = try await cluster.progress(id, jobs) { p in
            p.stages.contains { $0.stage == .interpolate && $0.chunksDone >= 1 } || p.state.isFinal
        }
        XCTAssertEqual(before.state, .running, "the freeze happens mid-job")

        // Which broker connections are whose, before the freeze.
        var ports: [String: Set<Int>] = [:], redisPorts: [String: Set<Int>] = [:]
        for name in ServiceCluster.services {
            let pid = try XCTUnwrap(cluster.pids(name).first)
            ports[name] = ProcessSockets.localPorts(pid: pid, remotePort: amqpPort)
            redisPorts[name] = ProcessSockets.localPorts(pid: pid, remotePort: redisPort)
            XCTAssertFalse(ports[name]!.isEmpty, "\(name) holds broker connections")
        }
        let open = try Broker.connectionPorts()
        XCTAssertTrue(ports.values.allSatisfy { $0.isSubset(of: open) }, "the broker lists every service's connections")

        // No Redis from here until SIGCONT: the test itself must not wait on it either.
        XCTAssertEqual(kill(redisPid, SIGSTOP), 0)
        let frozeAt = Date()
        var thawed = false
        defer { if !thawed { kill(redisPid, SIGCONT) } }
        // SIGTERM a service that waits on the frozen Redis (a request of its own lies unread in Redis'
        // socket), so it has a message in hand: it must exit within its shutdown grace, saying so, and
        // leave the message unacked for the broker.
        var victim: String?
        while victim == nil && Date().timeIntervalSince(frozeAt) < Self.freeze / 2 {
            victim = Self.candidates.first { !ProcessSockets.unreadRequests(from: redisPorts[$0]!, serverPort: redisPort).isEmpty }
            if victim == nil { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        guard let victim else { return XCTFail("no service waited on the frozen Redis") }
        XCTAssertEqual(kill(try XCTUnwrap(cluster.pids(victim).first), SIGTERM), 0)
        let termAt = Date()
        while cluster.allRunning && Date().timeIntervalSince(termAt) < Self.grace + 10 { try await Task.sleep(nanoseconds: 20_000_000) }
        let exitSeconds = Date().timeIntervalSince(termAt)
        XCTAssertEqual(cluster.ended.count, 1, "\(victim) exited on SIGTERM although Redis is frozen: \(cluster.ended)")
        XCTAssertLessThan(exitSeconds, Self.grace + 3, "\(victim) stops within its shutdown grace")
        let graceLine = cluster.log(victim).split(separator: "\n").first { $0.contains("shutdown grace is over with work still in hand") }
        XCTAssertNotNil(graceLine, "\(victim) logged why it left its work")
        XCTAssertEqual(graceLine.flatMap { logField("in_hand", in: String($0)) }, "1", "it held a message")

        // Heartbeats through the freeze: every other service still has every connection it had.
        let elapsed = Date().timeIntervalSince(frozeAt)
        if elapsed < Self.freeze { try await Task.sleep(nanoseconds: UInt64((Self.freeze - elapsed) * 1e9)) }
        let stillOpen = try Broker.connectionPorts()
        for name in ServiceCluster.services where name != victim {
            XCTAssertTrue(ports[name]!.isSubset(of: stillOpen), "\(name) kept its broker connections through the freeze")
            XCTAssertFalse(cluster.log(name).contains("AMQP connection lost"), "\(name) never lost its broker link")
        }
        XCTAssertTrue(ports[victim]!.isDisjoint(with: stillOpen), "\(victim)'s connections closed with it")

        // A supervisor starts it again (Redis still frozen), then Redis runs on.
        XCTAssertEqual(try cluster.restartEnded(), [victim])
        XCTAssertEqual(kill(redisPid, SIGCONT), 0)
        thawed = true
        let thawedAt = Date()
        let frozeFor = thawedAt.timeIntervalSince(frozeAt)

        // How long each stage took to move again.
        var counts = Dictionary(uniqueKeysWithValues: try await cluster.progress(id, jobs) { _ in true }.stages.map { ($0.stage, $0.chunksDone) })
        var recovered: [Stage: Double] = [:]
        let after = try await cluster.progress(id, jobs, timeout: 240) { p in
            for s in p.stages where s.chunksDone > counts[s.stage] ?? 0 && recovered[s.stage] == nil {
                recovered[s.stage] = Date().timeIntervalSince(thawedAt)
                counts[s.stage] = s.chunksDone
            }
            return p.state.isFinal
        }
        XCTAssertEqual(after.state, .done, after.error ?? "")
        XCTAssertTrue(after.failedChunks.isEmpty, "\(after.failedChunks)")
        XCTAssertTrue(cluster.allRunning, "no other service died: \(cluster.ended)")

        _ = try cluster.reframe(["process", "\(dir)/clip.mp4", "-o", "\(dir)/reference.mp4", "--quiet"] + RestartTests.spec)
        XCTAssertEqual(try MediaChecks.frames("\(dir)/out.mp4").count, 240)
        XCTAssertEqual(try MediaChecks.differingFrames("\(dir)/out.mp4", from: "\(dir)/reference.mp4"), [],
                       "every decoded frame equals the fault-free run's")
        let moved = recovered.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \(String(format: "%.2f", $0.value)) s" }
        print("stall: Redis frozen \(String(format: "%.1f", frozeFor)) s; \(victim) stopped \(String(format: "%.2f", exitSeconds)) s after SIGTERM (grace \(Self.grace) s); after SIGCONT stages moved again after: \(moved.joined(separator: ", "))")
    }

    static func redisPid() throws -> Int32 {
        guard let run = ProcessInfo.processInfo.environment["REFRAME_RUN_DIR"],
              let text = try? String(contentsOfFile: "\(run)/redis.pid", encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ServiceCluster.Failure.notConfigured("no Redis pid in $REFRAME_RUN_DIR/redis.pid: run the tests with scripts/test.sh")
        }
        return pid
    }
}
