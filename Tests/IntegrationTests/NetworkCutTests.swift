import Core
import Foundation
import Media
import Pipeline
import Store
import TestSupport
import XCTest

/// A worker whose link to the broker is cut mid-chunk (issue 10). A second Upscaler reaches RabbitMQ
/// through a relay the test controls; while it holds a chunk, the relay stops forwarding without
/// closing anything, so only heartbeats can tell. The broker must take the chunk back and hand it to
/// the other Upscaler, the job finish with frames identical to a fault-free run, the cut worker notice
/// the dead link itself and reconnect once the link is back, and its late result change nothing.
final class NetworkCutTests: XCTestCase {
    var dir = ""
    var cluster: ServiceCluster!
    var relay: TCPRelay!
    static let heartbeat = 3
    /// The cut worker holds each chunk this long before working on it: the cut lands while it has one.
    static let hold = 6
    static let spec = ["--upscale", "2"]

    override func setUpWithError() throws {
        dir = try MediaChecks.temporaryDirectory("netcut")
        var o = SyntheticClip.Options()
        o.frames = 120
        o.keyframeInterval = 30
        try SyntheticClip.write(path: "\(dir)/clip.mp4", options: o)
        cluster = try ServiceCluster(mediaRoot: dir, extraEnvironment: RestartTests.environment, logDirectory: "\(dir)/logs")
        relay = try TCPRelay(targetPort: try XCTUnwrap(URLComponents(string: cluster.amqpURL)?.port))
    }

    override func tearDown() {
        cluster?.stop()
        relay?.close()
        if let run = testRun, run.totalFailureCount > 0 {
            for name in ServiceCluster.services + ["Upscaler-cut"] { print("--- \(name) log (tail) ---\n\(cluster?.log(name).suffix(3000) ?? "")") }
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    func testWorkerWhoseLinkIsCutMidChunkLosesItsChunkToAnother() async throws {
        var url = try XCTUnwrap(URLComponents(string: cluster.amqpURL))
        url.port = relay.port
        try cluster.startInstance("Upscaler", label: "Upscaler-cut", environment: [
            "REFRAME_AMQP_URL": try XCTUnwrap(url.string), "REFRAME_AMQP_HEARTBEAT_SECONDS": "\(Self.heartbeat)",
            "REFRAME_TEST_HOLD_SECONDS": "\(Self.hold)"])
        // Its publisher, its upscale consumer and its dead-letter reader are through before the job starts.
        let connected = Date()
        while relay.upstreamPorts.count < 3 && Date().timeIntervalSince(connected) < 30 { try await Task.sleep(nanoseconds: 50_000_000) }
        XCTAssertEqual(relay.upstreamPorts.count, 3, "the second Upscaler connected through the relay")
        try await Task.sleep(nanoseconds: 500_000_000)

        let started = Date()
        let id = try cluster.reframe(["submit", "--source", "clip.mp4", "--output", "out.mp4"] + Self.spec)
        let jobs = JobStore(kv: try RedisStore(url: cluster.redisURL, connections: 1))
        let held = try await cluster.awaitLog("Upscaler-cut", containing: "REFRAME_TEST_HOLD: holding the message", timeout: 60)
        let chunk = try XCTUnwrap(logField("chunk", in: held).flatMap { Int($0) }, held)
        let cutPorts = relay.upstreamPorts
        relay.cut()
        let cutAt = Date()

        // With the link still cut, the broker takes the chunk back and the other Upscaler finishes it.
        var noticed: Double?
        let done = try await cluster.progress(id, jobs, timeout: 150) { p in
            if noticed == nil, cluster.log("Upscaler-cut").contains("heartbeat timeout") { noticed = Date().timeIntervalSince(cutAt) }
            return p.state.isFinal
        }
        let doneAfterCut = Date().timeIntervalSince(cutAt)
        XCTAssertEqual(done.state, .done, done.error ?? "")
        XCTAssertTrue(done.failedChunks.isEmpty, "\(done.failedChunks)")
        let encoded = try await jobs.chunkState(id, field: Keys.chunkField(chunk, .encode))?.state
        XCTAssertEqual(encoded, .done, "chunk \(chunk) went on without the cut worker")
        XCTAssertTrue(try Broker.connectionPorts().isDisjoint(with: cutPorts), "the broker dropped the silent connections")
        let lost = try await cluster.awaitLog("Upscaler-cut", containing: "AMQP connection lost", timeout: Double(4 * Self.heartbeat))
        XCTAssertTrue(lost.contains("heartbeat timeout"), "the cut worker noticed the dead link by its heartbeats: \(lost)")
        let jobSeconds = Date().timeIntervalSince(started)

        // The link comes back: the cut worker reconnects and its late result is harmless.
        relay.restore()
        let restoredAt = Date()
        let back = try await cluster.awaitLog("Upscaler-cut", containing: "AMQP reconnected", timeout: 60)
        let reconnected = Date().timeIntervalSince(restoredAt)
        // It finishes the chunk it held and passes it on; its ack belongs to the lost connection.
        try await cluster.awaitLog("Upscaler-cut", containing: "ack of a delivery from a lost connection dropped", timeout: 90)
        try await awaitQueuesDrained()
        let (state, keys, inFlight) = (try await jobs.job(id)?.state, try await jobs.kv.keys(prefix: Keys.framesPrefix(id)),
                                       try await jobs.inFlightBytes(jobId: id))
        XCTAssertEqual(state, .done, "the late result did not reopen the job")
        XCTAssertEqual(keys, [], "no frame keys left")
        XCTAssertEqual(inFlight, 0, "no bytes counted in flight")
        XCTAssertEqual(try cluster.reframe(["dlq", "list", "--job", id, "--json"]), "", "nothing dead-lettered")
        XCTAssertTrue(cluster.allRunning, "no service died: \(cluster.ended)")

        _ = try cluster.reframe(["process", "\(dir)/clip.mp4", "-o", "\(dir)/reference.mp4", "--quiet"] + Self.spec)
        XCTAssertEqual(try MediaChecks.frames("\(dir)/out.mp4").count, 120)
        XCTAssertEqual(try MediaChecks.differingFrames("\(dir)/out.mp4", from: "\(dir)/reference.mp4"), [],
                       "every decoded frame equals the fault-free run's")
        let seconds = { (s: Double?) in s.map { String(format: "%.2f", $0) } ?? "-" }
        print("network cut: chunk \(chunk) held; cut worker noticed after \(seconds(noticed)) s, job done \(seconds(doneAfterCut)) s after the cut (\(String(format: "%.1f", jobSeconds)) s in all); reconnected \(seconds(reconnected)) s after the link came back (down_s=\(logField("down_s", in: back) ?? "-"))")
    }

    /// Waits until no queue of this cluster holds a message, ready or unacked (the late duplicate was consumed).
    func awaitQueuesDrained(timeout: Double = 60) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        var rows: [[String]] = []
        while Date() < deadline {
            rows = try Broker.rows(["list_queues", "name", "messages"]).filter { $0.first?.hasPrefix("\(cluster.prefix).") == true }
            let busy = rows.filter { $0.first != "\(cluster.prefix).dead" && $0.last != "0" }
            if busy.isEmpty { return }
            try await Task.sleep(nanoseconds: 500_000_000)
        }
        XCTFail("queues still hold messages: \(rows)")
    }
}
