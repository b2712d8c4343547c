import AMQP
import Core
import Foundation
import Logging
import Media
import Messaging
import Pipeline
import Store
import TestSupport
import XCTest

/// The five services as separate processes over the real RabbitMQ and Redis the test command starts.
final class DistributedPipelineTests: XCTestCase {
    var dir = ""
    var cluster: ServiceCluster!

    override func setUpWithError() throws {
        dir = try MediaChecks.temporaryDirectory("dist")
        // Short segments and chunks so a 10 s clip is spread over several extractors' worth of work.
        cluster = try ServiceCluster(mediaRoot: dir, extraEnvironment: ["REFRAME_SEGMENT_SECONDS": "2", "REFRAME_CHUNK_FRAMES": "24"])
    }

    override func tearDown() {
        cluster?.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    func writeClip(_ name: String, seconds: Int) throws -> SyntheticClip.Options {
        var o = SyntheticClip.Options()
        o.frames = seconds * 30
        o.keyframeInterval = 30
        try SyntheticClip.write(path: "\(dir)/\(name)", options: o)
        return o
    }

    /// Submits through `reframe submit` and waits through `reframe watch`.
    func runJob(_ args: [String], timeout: Int = 600) throws -> String {
        let id = try cluster.reframe(["submit"] + args)
        XCTAssertNotNil(UUID(uuidString: id), "submit prints the job id")
        let status = try cluster.reframe(["watch", id, "--interval", "0.2", "--timeout", String(timeout)])
        XCTAssertTrue(status.contains("done"), status)
        XCTAssertTrue(cluster.allRunning, "no service crashed")
        return id
    }

    func testUpscaleAndSmoothInterpolationMatchTheEmbeddedMode() async throws {
        _ = try writeClip("clip.mp4", seconds: 10)
        let id = try runJob(["--source", "clip.mp4", "--output", "out/dist.mp4", "--upscale", "2", "--interpolate", "2"] + MediaChecks.losslessEncoding)
        let out = try MediaChecks.summary("\(dir)/out/dist.mp4")
        XCTAssertEqual([out.width, out.height], [640, 480])
        XCTAssertEqual(out.frameCount, 600, "2·N frames: the last source frame is followed by a held copy")
        XCTAssertEqual(out.duration, 10, accuracy: 1.0 / 60)
        XCTAssertTrue(out.strictlyIncreasing)
        XCTAssertEqual(out.audioStreams, 1)
        let status = try cluster.reframe(["status", id])
        XCTAssertTrue(status.contains("encode       "), status)

        // The same spec through `reframe process`: the same frames.
        _ = try cluster.reframe(["process", "\(dir)/clip.mp4", "-o", "\(dir)/out/embedded.mp4", "--upscale", "2", "--interpolate", "2", "--quiet"] + MediaChecks.losslessEncoding)
        let a = try MediaChecks.frames("\(dir)/out/dist.mp4"), b = try MediaChecks.frames("\(dir)/out/embedded.mp4")
        XCTAssertEqual(a.count, b.count)
        var identical = 0
        for (x, y) in zip(a, b) {
            let psnr = MediaChecks.psnr(x.data, y.data)
            if psnr.isInfinite { identical += 1 }
            XCTAssertGreaterThanOrEqual(psnr, 50)
        }
        // Both modes cut chunks alike and run the same stages (lossless encoding: see MediaChecks.losslessEncoding).
        XCTAssertEqual(identical, a.count, "distributed and embedded decode to identical frames")
    }

    func testSlowMotionStretchesDurationAndDropsAudio() throws {
        _ = try writeClip("short.mp4", seconds: 2)
        _ = try runJob(["--source", "short.mp4", "--output", "slow.mkv", "--interpolate", "4", "--slowmo"])
        let out = try MediaChecks.summary("\(dir)/slow.mkv")
        XCTAssertEqual(out.frameCount, 240)
        XCTAssertEqual(out.duration, 8, accuracy: 1.0 / 30)
        XCTAssertEqual(out.audioStreams, 0, "slow motion drops audio unless asked")
        XCTAssertTrue(out.strictlyIncreasing)
    }

    func testRealFootageUpscaledWithLanczos() throws {
        let footage = MediaChecks.realFootage("balle-jbart.mp4")
        guard FileManager.default.fileExists(atPath: footage) else {
            return XCTFail("\(footage) missing: scripts/fetch-media.sh fetches it (the test command runs it)")
        }
        try FileManager.default.copyItem(atPath: footage, toPath: "\(dir)/balle.mp4")
        _ = try runJob(["--source", "balle.mp4", "--output", "balle-x2.mp4", "--upscale", "2"])
        let out = try MediaChecks.summary("\(dir)/balle-x2.mp4")
        XCTAssertEqual([out.width, out.height], [1440, 1152])
        XCTAssertEqual(out.frameCount, 255)
        XCTAssertEqual(out.audioStreams, 1)
        XCTAssertEqual(out.duration, 10.2, accuracy: 0.04)
    }

    func testMalformedMessagesAndBadSpecsGoToTheDeadLetterQueue() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let bus = try RabbitBus(url: cluster.amqpURL, names: QueueNames(prefix: cluster.prefix), logger: logger)
        try await bus.publish(Array("{garbage".utf8), to: bus.names.queue("extract"))
        let jobs = JobStore(kv: try RedisStore(url: cluster.redisURL))
        let id = UUID().uuidString.lowercased()
        try await bus.publish(Array(#"{"version":1,"source":"../etc/passwd","upscale":{"factor":2}}"#.utf8), to: bus.names.queue("ingest"),
                              headers: [IngestHandler.jobIdHeader: id])
        var dead: [DeadLetter] = []
        for _ in 0..<100 where dead.count < 2 {
            dead += try await bus.drainDeadLetters(limit: 10)
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTAssertEqual(dead.count, 2)
        XCTAssertTrue(dead.contains { $0.reason.hasPrefix("extract: malformed message body") }, "\(dead.map(\.reason))")
        XCTAssertTrue(dead.contains { $0.reason == "ingest: 'source' must not contain '..': ../etc/passwd" }, "\(dead.map(\.reason))")
        let record = try await jobs.job(id)
        XCTAssertEqual(record?.state, .failed)
        XCTAssertEqual(record?.error, "'source' must not contain '..': ../etc/passwd")
        do {
            try await bus.publish([1], to: "\(cluster.prefix).nowhere")
            XCTFail("an unroutable message must not count as published")
        } catch {
            guard case AMQPError.notConfirmed = error else { return XCTFail("expected notConfirmed, got \(error)") }
        }
        await bus.close()
        XCTAssertTrue(cluster.allRunning)
    }
}

