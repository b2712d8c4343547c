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
        var logger = Logger(label: "corpus")
        logger.logLevel = .error
        let bus = try RabbitBus(url: cluster.amqpURL, names: QueueNames(prefix: cluster.prefix), logger: logger)
        let jobs = JobStore(kv: try RedisStore(url: cluster.redisURL, connections: 1))
        var outcomes: [(BadInputCorpus.Case, String)] = []
        var ids: [String] = []
        // All at once, as users would: one bad job must not hold up another.
        for c in BadInputCorpus.cases {
            let id = UUID().uuidString.lowercased()
            ids.append(id)
            let queue = bus.names.queue(c.queue.rawValue)
            try await bus.publish(c.body, to: queue, headers: c.queue == .ingest ? [IngestHandler.jobIdHeader: id] : [:])
        }
        let jobIds = zip(BadInputCorpus.cases, ids).filter { $0.0.queue == .ingest }.map(\.1)
        let ends = try await finalStates(jobIds, jobs: jobs)
        for (c, id) in zip(BadInputCorpus.cases, ids) where c.queue == .ingest { outcomes.append((c, ends[id] ?? "(not finished)")) }
        let letters = try await bus.drainDeadLetters(limit: 1000)
        for c in BadInputCorpus.cases where c.queue != .ingest {
            let reason = letters.first { $0.body == c.body && $0.sourceQueue == bus.names.queue(c.queue.rawValue) }?.reason
            outcomes.append((c, reason ?? "(no dead letter)"))
        }
        for (c, got) in outcomes {
            print("corpus: \(c.name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(got)")
            XCTAssertEqual(got, c.expected, c.name)
            XCTAssertFalse(got.contains(root), "\(c.name): no server path in \(got)")
        }
        await bus.close()
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

    /// Each job's end, by id: its error when it failed, "done" when it finished (jobs still
    /// running after 3 minutes are left out).
    func finalStates(_ ids: [String], jobs: JobStore) async throws -> [String: String] {
        var ends: [String: String] = [:]
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline, ends.count < ids.count {
            for id in ids where ends[id] == nil {
                if let job = try await jobs.job(id), job.state.isFinal { ends[id] = job.state == .done ? "done" : (job.error ?? "(failed without an error)") }
            }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        return ends
    }
}
