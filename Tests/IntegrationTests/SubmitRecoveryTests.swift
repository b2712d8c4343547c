import Core
import Foundation
import Media
import NIOHTTP1
import Pipeline
import Redis
import Store
import TestSupport
import XCTest

/// An HTTP submission has no broker redelivery behind it: Ingest is killed right after recording a
/// job and before queueing its work. A retry with the same Idempotency-Key finishes the job; a
/// client that never retries still gets its job run, by the next Ingest's recovery.
final class SubmitRecoveryTests: XCTestCase {
    var dir = ""
    var crashFile = ""
    var cluster: ServiceCluster!
    var jobs: JobStore!

    override func setUp() async throws {
        dir = try MediaChecks.temporaryDirectory("submit-recovery")
        crashFile = "\(dir)/crash"
        try MediaChecks.writeClip("\(dir)/clip.mp4", frames: 30, keyframeInterval: 15)
        cluster = try ServiceCluster(mediaRoot: dir, extraEnvironment: [
            "REFRAME_SEGMENT_SECONDS": "0.5", "REFRAME_CHUNK_FRAMES": "8", "REFRAME_SUBMIT_RECOVERY_SECONDS": "2",
            CrashPoint.fileVariable: crashFile,
        ], logDirectory: "\(dir)/logs")
        jobs = JobStore(kv: try RedisStore(url: cluster.redisURL, connections: 1))
        try await api.awaitReady()
    }

    override func tearDown() {
        cluster?.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    var api: APIClient { APIClient(base: "http://127.0.0.1:\(cluster.httpPort)", token: cluster.apiTokens["alpha"]!) }
    var tenant: String { "alpha-\(cluster.prefix)" }

    func spec(_ output: String) -> Data {
        try! JSONEncoder().encode(JobSpec(source: "clip.mp4", output: output, upscale: UpscaleSpec(factor: 2, model: "lanczos"),
                                          encode: EncodeSpec(crf: 0, preset: "ultrafast")))
    }

    func post(_ body: Data, key: String?) async throws -> APIClient.Reply {
        try await api.call(.POST, "/v1/jobs", body: body, headers: key.map { ["Idempotency-Key": $0] } ?? [:])
    }

    /// Arms the crash after Ingest records a job, posts, and waits for Ingest to die of it; then a
    /// new Ingest takes over. Returns the ids of this tenant's jobs that are recorded.
    func postIntoACrash(_ body: Data, key: String?) async throws -> Set<String> {
        try "ingest:after-store".write(toFile: crashFile, atomically: true, encoding: .utf8)
        let before = try await tenantJobs()
        do {
            let reply = try await post(body, key: key)
            XCTFail("Ingest answered \(reply.status) instead of dying: \(reply.text)")
        } catch {}  // The connection dies with the process.
        let deadline = Date().addingTimeInterval(30)
        while cluster.pids("Ingest").count > 0, Date() < deadline { try await Task.sleep(nanoseconds: 100_000_000) }
        XCTAssertEqual(cluster.pids("Ingest"), [], "Ingest crashed at the armed point")
        XCTAssertTrue(FileManager.default.fileExists(atPath: crashFile + ".claimed"))
        try FileManager.default.removeItem(atPath: crashFile + ".claimed")
        let created = try await tenantJobs().subtracting(before)
        XCTAssertEqual(created.count, 1, "the job was recorded before the crash")
        for id in created {
            let state = try await jobs.state(id), marked = try await jobs.isSubmitting(id)
            XCTAssertEqual(state, .running)
            XCTAssertTrue(marked, "and marked as not yet queued")
        }
        return created
    }

    func tenantJobs() async throws -> Set<String> {
        var out: Set<String> = []
        for id in try await jobs.jobIds() where try await jobs.job(id)?.tenant == tenant { out.insert(id) }
        return out
    }

    func testCrashBetweenRecordAndQueueIsHealedByARetryOrByRecovery() async throws {
        // 1. A retry with the same key: the same job, now queued, and it finishes.
        let key = "tape-0042-\(UUID().uuidString)"
        let crashed = try await postIntoACrash(spec("retried.mp4"), key: key)
        try cluster.restartEnded()
        try await api.awaitReady()
        let retried = try await post(spec("retried.mp4"), key: key)
        XCTAssertEqual(retried.status, 201, retried.text)
        let id = try XCTUnwrap(retried.json["id"] as? String)
        XCTAssertEqual([id], crashed, "the retry answers with the job the first attempt recorded")
        let done = try await api.waitForEnd(id, timeout: 300)
        XCTAssertEqual(done.json["state"] as? String, "done", done.text)
        let stillMarked = try await jobs.isSubmitting(id)
        XCTAssertFalse(stillMarked)
        // Once more: still that job, nothing queued again; the same key with another spec is refused.
        let again = try await post(spec("retried.mp4"), key: key)
        XCTAssertEqual(again.status, 201)
        XCTAssertEqual(again.json["id"] as? String, id)
        XCTAssertEqual(again.json["state"] as? String, "done")
        let conflict = try await post(spec("other.mp4"), key: key)
        XCTAssertEqual(conflict.status, 422, conflict.text)
        XCTAssertTrue(conflict.text.contains("Idempotency-Key"), conflict.text)
        let badKey = try await post(spec("x.mp4"), key: "has space")
        XCTAssertEqual(badKey.status, 400, badKey.text)
        let count = try await tenantJobs().count
        XCTAssertEqual(count, 1, "retries created no second job")

        // 2. No retry at all: the restarted Ingest queues the stalled job by itself.
        let stalled = try await postIntoACrash(spec("recovered.mp4"), key: nil)
        let orphan = try XCTUnwrap(stalled.first)
        try cluster.restartEnded()
        let recovered = try await api.waitForEnd(orphan, timeout: 300)
        XCTAssertEqual(recovered.json["state"] as? String, "done", recovered.text)
        let orphanMarked = try await jobs.isSubmitting(orphan)
        XCTAssertFalse(orphanMarked)
        XCTAssertTrue(cluster.log("Ingest").contains("requeued stalled submissions"), cluster.log("Ingest"))

        // Both outputs are the pictures of an uninterrupted run of the same spec.
        let clean = try await post(spec("clean.mp4"), key: nil)
        let cleanId = try XCTUnwrap(clean.json["id"] as? String, clean.text)
        _ = try await api.waitForEnd(cleanId, timeout: 300)
        XCTAssertEqual(try MediaChecks.differingFrames("\(dir)/retried.mp4", from: "\(dir)/clean.mp4"), [])
        XCTAssertEqual(try MediaChecks.differingFrames("\(dir)/recovered.mp4", from: "\(dir)/clean.mp4"), [])
        XCTAssertGreaterThan(try MediaChecks.worstPSNRAgainstFFmpegLanczos("\(dir)/clean.mp4", source: "\(dir)/clip.mp4", factor: 2), 35,
                             "and those are FFmpeg's Lanczos pictures")
        XCTAssertTrue(cluster.allRunning, "\(cluster.ended)")
    }
}
