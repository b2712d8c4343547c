import Core
import Foundation
import Logging
import Media
import Messaging
import Pipeline
import Redis
import Store
import TestSupport
import XCTest

/// Bad input never crashes a service and always says what to change (issue 11): every case of the
/// corpus is published to the real ingest queue (or, for broken messages, to a stage's queue) of the
/// five services running as processes, and must end with exactly the expected error, naming paths
/// relative to the media root; no service dies, nothing of the case is left in Redis, and a good job
/// submitted after them all still finishes.
final class BadInputCorpusTests: XCTestCase {
    var root = ""
    var cluster: ServiceCluster!

    override func setUpWithError() throws {
        // The media root inside a directory of the test's own, so "../outside.mp4" exists but is out of bounds.
        root = try MediaChecks.temporaryDirectory("corpus") + "/media"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try BadInputCorpus.writeFiles(into: root)
        cluster = try ServiceCluster(mediaRoot: root, extraEnvironment: ["REFRAME_SEGMENT_SECONDS": "1", "REFRAME_LOG_LEVEL": "notice"],
                                     logDirectory: "\(root)/logs")
    }

    override func tearDown() {
        cluster?.stop()
        if let run = testRun, run.totalFailureCount > 0 {
            cluster?.printLogTails(characters: 4000)
        }
        try? FileManager.default.removeItem(atPath: (root as NSString).deletingLastPathComponent)
    }

    func testEveryBadInputEndsWithItsErrorAndLeavesNothingBehind() async throws {
        let outcomes = try await BadInputCorpusRun(amqpURL: cluster.amqpURL, redisURL: cluster.redisURL,
                                                   names: QueueNames(prefix: cluster.prefix)).run()
        for o in outcomes {
            print("corpus: \(o.name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(o.got)")
            XCTAssertEqual(o.got, o.expected, o.name)
            XCTAssertFalse(o.got.contains(root), "\(o.name): no server path in \(o.got)")
        }
        let jobs = JobStore(kv: try RedisStore(url: cluster.redisURL, connections: 1))
        let jobIds = outcomes.compactMap(\.jobId)
        XCTAssertTrue(cluster.allRunning, "no service died: \(cluster.ended)")
        // Nothing of any case is left in the store but its job record (which says why it failed).
        for id in jobIds {
            let frames = try await jobs.kv.keys(prefix: Keys.framesPrefix(id))
            let inFlight = try await jobs.inFlightBytes(jobId: id)
            XCTAssertEqual(frames, [], "job \(id) left frames")
            XCTAssertEqual(inFlight, 0, "job \(id) left bytes in flight")
        }
        XCTAssertGreaterThanOrEqual(BadInputCorpus.cases.count, 40, "the corpus keeps at least 40 cases")

        // The good job's pictures, not just its end: its ×2 Lanczos frames against FFmpeg's CLI
        // scaling the same source (an independent reference), frame for frame.
        try MediaChecks.run("/usr/bin/ffmpeg", ["-v", "error", "-y", "-i", "\(root)/good.mp4", "-vf", "scale=640:360:flags=lanczos",
                                                "-c:v", "ffv1", "-an", "\(root)/ffmpeg-x2.mkv"])
        let ours = try MediaChecks.frames("\(root)/\(BadInputCorpus.goodOutput)"), theirs = try MediaChecks.frames("\(root)/ffmpeg-x2.mkv")
        XCTAssertEqual(ours.count, theirs.count)
        let worst = try zip(ours, theirs).map { try PictureQuality.psnr($0, $1) }.min() ?? 0
        print("corpus: good job against ffmpeg -vf scale=…:flags=lanczos: worst luma PSNR \(String(format: "%.1f", worst)) dB")
        XCTAssertGreaterThan(worst, 35, "the good job's pictures match FFmpeg's Lanczos")
    }
}
