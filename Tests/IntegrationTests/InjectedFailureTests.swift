import Core
import Foundation
import Media
import Pipeline
import Redis
import Store
import TestSupport
import XCTest

/// Exactly-once under injected failures (issue 10, DESIGN.md §6): for each of the six stages, its
/// process is SIGKILLed once between each pair of steps — after store, after mark-done, after
/// publish, before ack, and after a "lost" ack — and restarted as a supervisor would. Every job still
/// finishes with the frames of a fault-free run, is finalized by exactly one run, and leaves no frame
/// keys, in-flight bytes or locks behind.
final class InjectedFailureTests: XCTestCase {
    var dir = ""
    var crashFile: String { "\(dir)/crash" }
    var cluster: ServiceCluster!
    /// 2 s at 30 fps in 1 s segments and 10-frame chunks: 2 segments, 6 chunks, each through upscale,
    /// interpolate (the cheap blend model) and encode, so every stage sees several messages.
    /// A short finalize lease: a finalizer killed while holding the lock is taken over in seconds.
    static let environment = ["REFRAME_SEGMENT_SECONDS": "1", "REFRAME_CHUNK_FRAMES": "10", "REFRAME_LOG_LEVEL": "notice",
                              "REFRAME_FINALIZE_LEASE_SECONDS": "3"]
    static let spec = ["--upscale", "2", "--interpolate", "2", "--interp-model", "blend"] + MediaChecks.losslessEncoding
    static let service: [Stage: String] = [.ingest: "Ingest", .extract: "Extractor", .upscale: "Upscaler", .interpolate: "Interpolator",
                                           .encode: "Assembler", .finalize: "Assembler"]

    override func setUpWithError() throws {
        dir = try MediaChecks.temporaryDirectory("injected")
        var o = SyntheticClip.Options()
        o.width = 160
        o.height = 120
        o.frames = 60
        o.keyframeInterval = 30
        try SyntheticClip.write(path: "\(dir)/clip.mp4", options: o)
        cluster = try ServiceCluster(mediaRoot: dir, extraEnvironment: Self.environment.merging([CrashPoint.fileVariable: crashFile]) { $1 },
                                     logDirectory: "\(dir)/logs")
    }

    override func tearDown() {
        cluster?.stop()
        if let run = testRun, run.totalFailureCount > 0 {
            cluster?.printLogTails(characters: 3000)
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    func testEveryStageSurvivesACrashBetweenEveryStep() async throws {
        // The fault-free reference: the same job through the same services, no crash armed, encoded
        // losslessly (MediaChecks.losslessEncoding: differences then point at a stage, not the encoder).
        let jobs = JobStore(kv: try RedisStore(url: cluster.redisURL, connections: 1))
        let reference = try cluster.reframe(["submit", "--source", "clip.mp4", "--output", "reference.mp4"] + Self.spec)
        let status = try cluster.reframe(["watch", reference, "--interval", "0.2", "--timeout", "120"])
        XCTAssertTrue(status.contains("done"), status)
        XCTAssertTrue(cluster.allRunning, "nothing crashes without an armed fault: \(cluster.ended)")
        XCTAssertEqual(try MediaChecks.frames("\(dir)/reference.mp4").count, 120)
        var seconds: [Stage: [CrashPoint: Double]] = [:]
        for stage in Stage.allCases {
            for point in CrashPoint.allCases {
                seconds[stage, default: [:]][point] = try await crash(stage, at: point, jobs: jobs)
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/out").sorted(),
                       Stage.allCases.flatMap { s in CrashPoint.allCases.map { "\(s.rawValue)-\($0.rawValue).mp4" } }.sorted(),
                       "one complete output per job, no partial file left")
        XCTAssertTrue(cluster.allRunning, "\(cluster.ended)")

        let header = "stage".padding(toLength: 12, withPad: " ", startingAt: 0) + CrashPoint.allCases.map { $0.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0) }.joined()
        print("injected failures: seconds from submit to done\n\(header)")
        for stage in Stage.allCases {
            let cells = CrashPoint.allCases.map { String(format: "%-14.1f", seconds[stage]?[$0] ?? .nan) }.joined()
            print(stage.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0) + cells)
        }
    }

    /// Runs one job with the crash armed at `stage`/`point`, restarting whatever dies, and checks
    /// the result. Returns the seconds from submit to `done`.
    func crash(_ stage: Stage, at point: CrashPoint, jobs: JobStore) async throws -> Double {
        let name = "\(stage.rawValue)-\(point.rawValue)"
        try? FileManager.default.removeItem(atPath: "\(crashFile).claimed")
        try "\(stage.rawValue):\(point.rawValue)".write(toFile: crashFile, atomically: true, encoding: .utf8)
        let started = Date()
        let id = try cluster.reframe(["submit", "--source", "clip.mp4", "--output", "out/\(name).mp4"] + Self.spec)
        var restarted: [String] = []
        var record: JobRecord?
        while Date().timeIntervalSince(started) < 120 {
            restarted += try cluster.restartEnded()
            record = try await jobs.job(id)
            if record?.state.isFinal == true { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        let took = Date().timeIntervalSince(started)
        XCTAssertEqual(record?.state, .done, "\(name): \(record?.error ?? "not finished after \(Int(took)) s")")

        // The fault struck once, in the stage's own service (a late one, e.g. after finalize's lost
        // ack, may die just after the job is done).
        XCTAssertFalse(FileManager.default.fileExists(atPath: crashFile), "\(name): the armed crash was never reached")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(crashFile).claimed"), name)
        let deadline = Date().addingTimeInterval(10)
        while restarted.isEmpty && Date() < deadline {
            restarted += try cluster.restartEnded()
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTAssertEqual(restarted, [Self.service[stage]!], "\(name): the stage's service died once and was restarted")
        XCTAssertTrue(cluster.log(Self.service[stage]!).contains("point=\(point.rawValue)"), "\(name): the crash was logged")

        // Exactly one finalize run marked the job done, and the frames are the fault-free run's.
        let finalized = try await jobs.counts(id).finalized
        XCTAssertEqual(finalized, 1, "\(name): finalize ran once")
        XCTAssertEqual(try MediaChecks.differingFrames("\(dir)/out/\(name).mp4", from: "\(dir)/reference.mp4"), [],
                       "\(name): every frame equals the fault-free run's")

        // Nothing of the job is left but its record: no frames, in-flight bytes, lock or claim. A
        // redelivered message may still be cleaning up (finalize after marking done), so wait a little.
        var left = try await leftovers(id, jobs)
        let cleanDeadline = Date().addingTimeInterval(15)
        while !left.isEmpty && Date() < cleanDeadline {
            try await Task.sleep(nanoseconds: 200_000_000)
            left = try await leftovers(id, jobs)
        }
        XCTAssertEqual(left, [], "\(name): keys left behind")
        return took
    }

    /// The job's keys other than its record (job hash, chunk hash, counted markers).
    func leftovers(_ id: String, _ jobs: JobStore) async throws -> [String] {
        let record: Set = [Keys.job(id), Keys.chunks(id), Keys.countedFields(id)]
        var keys = try await jobs.kv.keys(prefix: Keys.framesPrefix(id))
        keys += try await jobs.kv.keys(prefix: Keys.job(id)).filter { !record.contains($0) }
        keys += try await jobs.kv.keys(prefix: Keys.inFlight(id))
        return keys.sorted()
    }
}
