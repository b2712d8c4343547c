import Core
import Foundation
import Media
import Messaging
import Pipeline
import Redis
import Store
import TestSupport
import XCTest

/// A chunk that kills its worker on every delivery (issue 10, DESIGN.md §4): RabbitMQ's own
/// delivery limit (x-delivery-limit on the quorum queue, x-delivery-count on each delivery) moves it
/// to the dead-letter queue; a service records its failure in the job; the other chunks finish; the
/// job ends failed; and once the cause is gone, `reframe chunks retry` finishes the job.
final class PoisonTests: XCTestCase {
    var dir = ""
    var cluster: ServiceCluster!
    static let poisonedChunk = 48

    override func setUpWithError() throws {
        dir = try MediaChecks.temporaryDirectory("poison")
        var o = SyntheticClip.Options()
        o.frames = 120
        o.keyframeInterval = 30
        try SyntheticClip.write(path: "\(dir)/clip.mp4", options: o)
        _ = FileManager.default.createFile(atPath: "\(dir)/poison", contents: nil)
    }

    /// The five services, with `stage` killing its worker on the poisoned chunk while `dir/poison` exists.
    func startCluster(poisoning stage: Stage) throws {
        cluster = try ServiceCluster(mediaRoot: dir, extraEnvironment: [
            "REFRAME_SEGMENT_SECONDS": "2", "REFRAME_CHUNK_FRAMES": "24", "REFRAME_DELIVERY_LIMIT": "3", "REFRAME_LOG_LEVEL": "notice",
            "REFRAME_TEST_POISON": "\(stage.rawValue):\(Self.poisonedChunk)", "REFRAME_TEST_POISON_WHILE": "\(dir)/poison",
        ], logDirectory: "\(dir)/logs")
    }

    /// Submits the job and plays supervisor (starting again whatever died) until it ends; returns
    /// the job id, its record and how many processes died.
    func runUntilFinal(_ spec: [String]) async throws -> (id: String, record: JobRecord?, kills: Int) {
        let jobs = JobStore(kv: try RedisStore(url: cluster.redisURL, connections: 1))
        let started = Date()
        let id = try cluster.reframe(["submit", "--source", "clip.mp4", "--output", "out.mp4"] + spec)
        var kills = 0
        var record: JobRecord?
        while Date().timeIntervalSince(started) < 300 {
            kills += try cluster.restartEnded().count
            record = try await jobs.job(id)
            if record?.state.isFinal == true { break }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        return (id, record, kills)
    }

    override func tearDown() {
        cluster?.stop()
        if let run = testRun, run.totalFailureCount > 0 {
            cluster?.printLogTails(characters: 3000)
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    func testChunkThatKillsItsWorkerIsDeadLetteredThenRetried() async throws {
        try startCluster(poisoning: .upscale)
        let started = Date()
        let (id, record, kills) = try await runUntilFinal(["--upscale", "2"] + MediaChecks.losslessEncoding)
        let failedAfter = Date().timeIntervalSince(started)
        XCTAssertEqual(record?.state, .failed, "the job ends failed instead of hanging")
        XCTAssertGreaterThanOrEqual(kills, 3, "the Upscaler died on each of the limit's deliveries")
        XCTAssertTrue(record?.error?.hasPrefix("upscale of chunk \(Self.poisonedChunk): delivery limit reached") == true, record?.error ?? "no error")

        // The chunk shows as failed, with why; every other chunk was encoded.
        let failed = try cluster.reframe(["chunks", "list", id, "--state", "failed", "--json"])
        let rows = failed.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(rows.count, 1, failed)
        XCTAssertEqual(rows.first?["chunk"] as? Int, Self.poisonedChunk)
        XCTAssertEqual(rows.first?["stage"] as? String, "upscale")
        XCTAssertTrue((rows.first?["error"] as? String)?.contains("delivery limit") == true, failed)
        let encoded = try cluster.reframe(["chunks", "list", id, "--state", "done", "--stage", "encode", "--json"])
        XCTAssertEqual(encoded.split(separator: "\n").count, 5, "the other chunks went on: \(encoded)")

        // The broker dead-lettered it: the copy in the dead-letter queue says so.
        let dead = try cluster.reframe(["dlq", "list", "--job", id, "--json"])
        let letters = dead.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(letters.count, 1, dead)
        XCTAssertEqual(letters.first?["chunk"] as? Int, Self.poisonedChunk)
        XCTAssertEqual(letters.first?["queue"] as? String, "\(cluster.prefix).upscale")
        XCTAssertTrue((letters.first?["reason"] as? String)?.contains("delivery limit") == true, dead)
        print("poison: dead letter \(dead)")
        let deliveries = try XCTUnwrap(letters.first?["deliveries"] as? Int, "the dead letter says how often it was delivered: \(dead)")
        XCTAssertEqual(deliveries, kills, "one delivery per crash")
        // Listing takes the letters off the queue and puts them back: nothing of them is lost on the way.
        XCTAssertEqual(try cluster.reframe(["dlq", "list", "--job", id, "--json"]), dead, "a second listing shows the same letter")

        // Cause removed: the retry runs just that chunk, and the job finishes.
        try FileManager.default.removeItem(atPath: "\(dir)/poison")
        let retried = Date()
        XCTAssertEqual(try cluster.reframe(["chunks", "retry", id, "--failed"]), "requeued 1 message(s) for job \(id)")
        let status = try cluster.reframe(["watch", id, "--interval", "0.2", "--timeout", "300"])
        XCTAssertTrue(status.contains("done"), status)
        XCTAssertEqual(try MediaChecks.summary("\(dir)/out.mp4").frameCount, 120)
        // Pictures, not just counts: the retried chunk and the rest equal a fault-free run of the spec.
        // (The poison file is gone, so the hook does not strike in this run either.)
        _ = try cluster.reframe(["process", "\(dir)/clip.mp4", "-o", "\(dir)/reference.mp4", "--quiet", "--upscale", "2"] + MediaChecks.losslessEncoding)
        XCTAssertEqual(try MediaChecks.differingFrames("\(dir)/out.mp4", from: "\(dir)/reference.mp4"), [],
                       "every frame of the retried job equals the fault-free run's")
        XCTAssertEqual(try cluster.reframe(["dlq", "purge", "--job", id]), "purged 1 dead letter(s)")
        XCTAssertTrue(cluster.allRunning, "\(cluster.ended)")
        print("poison: \(kills) kills, job failed after \(String(format: "%.1f", failedAfter)) s, retry finished in \(String(format: "%.1f", Date().timeIntervalSince(retried))) s")
    }

    /// Stored frames expire (DESIGN.md §5): a chunk that failed at interpolation after its upscaled
    /// input (and the extracted frames before it) expired is extracted again and runs through every
    /// hop, and the job's pictures still equal a fault-free run's.
    func testRetryAfterTheInputsExpiredExtractsTheChunkAgain() async throws {
        try startCluster(poisoning: .interpolate)
        let spec = ["--upscale", "2", "--interpolate", "2", "--interp-model", "blend"] + MediaChecks.losslessEncoding
        let (id, record, _) = try await runUntilFinal(spec)
        XCTAssertEqual(record?.state, .failed, record?.error ?? "")
        let failed = try cluster.reframe(["chunks", "list", id, "--failed"])
        XCTAssertTrue(failed.contains("chunk \(Self.poisonedChunk)") && failed.contains("interpolate"), failed)

        // What the TTL would do: the chunk's stored frames at every stage are gone.
        let redis = try RedisConnection(url: cluster.redisURL)
        for stage in [Stage.extract, .upscale] {
            let key = Keys.chunk(id, stage: stage, chunk: Self.poisonedChunk)
            let frames = (0..<30).map { Array(Keys.frame(key, $0).utf8) }
            try redis.command([Array("DEL".utf8), Array(key.utf8)] + frames)
        }
        // Nothing failed at the upscale stage: asking for it retries nothing (exit 3).
        XCTAssertThrowsError(try cluster.reframe(["chunks", "retry", id, "--failed", "--stage", "upscale"])) { error in
            XCTAssertTrue("\(error)".contains("exited 3"), "\(error)")
        }
        try FileManager.default.removeItem(atPath: "\(dir)/poison")
        XCTAssertEqual(try cluster.reframe(["chunks", "retry", id, "--chunk", "\(Self.poisonedChunk)", "--stage", "interpolate"]),
                       "requeued 1 message(s) for job \(id) (re-extracting chunk \(Self.poisonedChunk): stored frames expired)")
        let status = try cluster.reframe(["watch", id, "--interval", "0.2", "--timeout", "300"])
        XCTAssertTrue(status.contains("done"), status)
        _ = try cluster.reframe(["process", "\(dir)/clip.mp4", "-o", "\(dir)/reference.mp4", "--quiet"] + spec)
        XCTAssertEqual(try MediaChecks.frames("\(dir)/out.mp4").count, 240)
        XCTAssertEqual(try MediaChecks.differingFrames("\(dir)/out.mp4", from: "\(dir)/reference.mp4"), [],
                       "the re-extracted chunk and the rest equal the fault-free run")
        let jobs = JobStore(kv: try RedisStore(url: cluster.redisURL, connections: 1))
        let inFlight = try await jobs.inFlightBytes(jobId: id)
        XCTAssertEqual(inFlight, 0, "nothing left in flight")
        XCTAssertTrue(cluster.allRunning, "\(cluster.ended)")
    }
}
