import Core
import Foundation
import Media
import Pipeline
import Redis
import Store
import TestSupport
import XCTest

/// Live progress through the built `reframe` tool against the real services (issue 12 item 4): a slow
/// stage's frames show while its first chunk still runs, `submit --watch` follows a job to the end,
/// and `watch` of a failed job exits non-zero with the failed chunks and the command that retries them.
final class LiveProgressCLITests: XCTestCase {
    var dir = ""
    var cluster: ServiceCluster!
    static let chunkFrames = 24
    static let poisonedChunk = 24

    override func setUpWithError() throws {
        dir = try MediaChecks.temporaryDirectory("live-progress")
        var o = SyntheticClip.Options()
        o.frames = 48
        o.keyframeInterval = 24
        try SyntheticClip.write(path: "\(dir)/clip.mp4", options: o)
    }

    override func tearDown() {
        cluster?.stop()
        if let run = testRun, run.totalFailureCount > 0 { cluster?.printLogTails(characters: 3000) }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// `reframe` running in the background, its output in files (no pipe to fill up).
    final class Tool {
        let process = Process()
        let stdout: String, stderr: String

        init(_ args: [String], cluster: ServiceCluster, dir: String, name: String) throws {
            stdout = "\(dir)/\(name).out"
            stderr = "\(dir)/\(name).err"
            for f in [stdout, stderr] { _ = FileManager.default.createFile(atPath: f, contents: nil) }
            process.executableURL = URL(fileURLWithPath: "\(cluster.binDir)/reframe")
            process.arguments = args
            process.environment = ProcessInfo.processInfo.environment.merging(cluster.environment) { $1 }
            process.standardOutput = FileHandle(forWritingAtPath: stdout)
            process.standardError = FileHandle(forWritingAtPath: stderr)
            try process.run()
        }

        /// Waits for the exit, starting again any service that died meanwhile; returns status, stdout, stderr.
        func finish(cluster: ServiceCluster, timeout: Double) async throws -> (Int32, String, String) {
            let started = Date()
            while process.isRunning {
                guard Date().timeIntervalSince(started) < timeout else {
                    process.terminate()
                    throw ServiceCluster.Failure.notConfigured("reframe \(process.arguments ?? []) still running after \(timeout) s")
                }
                _ = try cluster.restartEnded()
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
            return (process.terminationStatus, read(stdout), read(stderr))
        }
    }

    /// The upscaler takes 0.25 s a frame (a test hook standing in for a slow model): each 24-frame
    /// chunk runs 6 s, and the frames inside it show within the first second of it.
    func testSlowStageShowsFramesBeforeItsFirstChunkIsDoneAndSubmitWatchEndsDone() async throws {
        cluster = try ServiceCluster(mediaRoot: dir, extraEnvironment: [
            "REFRAME_SEGMENT_SECONDS": "1", "REFRAME_CHUNK_FRAMES": "\(Self.chunkFrames)", "REFRAME_TEST_FRAME_SECONDS": "0.25",
        ], logDirectory: "\(dir)/logs")
        let jobs = JobStore(kv: try RedisStore(url: cluster.redisURL, connections: 1))
        // Not a terminal: the plain form, a line every half second.
        let tool = try Tool(["submit", "--source", "clip.mp4", "--output", "out.mp4", "--upscale", "2", "--watch",
                             "--interval", "0.2", "--progress-every", "0.5"], cluster: cluster, dir: dir, name: "submit")
        var id = ""
        let started = Date()
        while id.isEmpty, Date().timeIntervalSince(started) < 30 {
            id = ((try? String(contentsOfFile: tool.stdout, encoding: .utf8)) ?? "").split(separator: "\n").first.map(String.init) ?? ""
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        XCTAssertEqual(id.count, 36, "submit --watch prints the job id first")

        // The store: upscale frames in progress while no upscale chunk is done yet.
        var firstSeen: (upscale: JobProgress.StageCount, after: Double)?
        var firstFrameStarted: Date?
        while firstSeen == nil, Date().timeIntervalSince(started) < 60 {
            if let p = try await JobProgress.load(jobId: id, jobs: jobs), let upscale = p.stages.first(where: { $0.stage == .upscale }) {
                if upscale.chunksDone == 0 && upscale.framesInProgress > 0 {
                    firstSeen = (upscale, Date().timeIntervalSince(firstFrameStarted ?? started))
                } else if firstFrameStarted == nil && p.stages[0].chunksDone > 0 {
                    firstFrameStarted = Date()  // extracted: the upscaler's first chunk starts about now
                }
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        let seen = try XCTUnwrap(firstSeen, "frames in progress showed before the first upscale chunk was done")
        XCTAssertLessThan(seen.upscale.framesInProgress, Self.chunkFrames * 2)
        XCTAssertEqual(seen.upscale.framesDone, 0, "the exact count holds only finished chunks")
        print("live progress: \(seen.upscale.framesInProgress) upscale frames in progress \(String(format: "%.1f", seen.after)) s after extraction, no chunk done")

        let (status, stdout, stderr) = try await tool.finish(cluster: cluster, timeout: 120)
        XCTAssertEqual(status, 0, "done: exit 0\n\(stdout)\n\(stderr)")
        XCTAssertTrue(stdout.contains("job \(id): done"), stdout)
        // The display read the same hint: an upscale count inside the first chunk, before any chunk is done.
        XCTAssertTrue(Self.upscaleCounts(stderr).contains { $0 > 0 && $0 < Self.chunkFrames }, "plain lines show in-chunk frames:\n\(stderr)")
        XCTAssertTrue(stderr.contains(" fps"), stderr)
        print("live progress: submit --watch on stderr:\n\(stderr)")

        // The exact counts stayed exact and the hint is gone with the job's frames.
        let loaded = try await JobProgress.load(jobId: id, jobs: jobs)
        let final = try XCTUnwrap(loaded)
        XCTAssertEqual(final.stages.map(\.framesDone), [48, 48, 48])
        XCTAssertEqual(final.stages.map(\.framesInProgress), [0, 0, 0])
        let counts = try await jobs.counts(id)
        XCTAssertEqual([counts.chunksPlanned, counts.chunksEncoded, counts.chunksFailed, counts.finalized], [2, 2, 0, 1])
        let hint = try await jobs.framesInProgress(id)
        XCTAssertEqual(hint, [:])
        XCTAssertEqual(try MediaChecks.summary("\(dir)/out.mp4").frameCount, 48)
        // Reporting from inside the chunk changed nothing in the pictures.
        XCTAssertGreaterThan(try MediaChecks.worstPSNRAgainstFFmpegLanczos("\(dir)/out.mp4", source: "\(dir)/clip.mp4", factor: 2), 35)
    }

    /// The upscale counts in the tool's plain progress lines.
    static func upscaleCounts(_ stderr: String) -> [Int] {
        stderr.split(separator: "\n").filter { $0.hasPrefix("progress: ") }.compactMap { line -> Int? in
            guard let part = line.split(separator: "|").first(where: { $0.contains("upscale ") }) else { return nil }
            return Int(part.split(separator: " ")[1].split(separator: "/")[0])
        }
    }

    /// `reframe process` (the embedded pipeline, same stage code over the in-memory store) shows a
    /// slow first chunk's frames as they finish too.
    func testProcessShowsFramesInsideItsFirstChunk() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "\(ServiceCluster.binDir())/reframe")
        p.arguments = ["process", "\(dir)/clip.mp4", "-o", "\(dir)/out.mp4", "--upscale", "2", "--progress-every", "0.5"]
        p.environment = ProcessInfo.processInfo.environment.merging([
            "REFRAME_SEGMENT_SECONDS": "1", "REFRAME_CHUNK_FRAMES": "\(Self.chunkFrames)", "REFRAME_TEST_FRAME_SECONDS": "0.1",
        ]) { $1 }
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, stderr)
        XCTAssertTrue(Self.upscaleCounts(stderr).contains { $0 > 0 && $0 < Self.chunkFrames }, "in-chunk frames shown:\n\(stderr)")
        XCTAssertTrue(stderr.hasSuffix("progress: done 100% | extract 48/48 | upscale 48/48 | encode 48/48 | ETA 0:00\n"), stderr)
    }

    /// A chunk that kills its upscaler on every delivery fails the job: `watch` exits 1 and names the
    /// chunk and the retry command; that command, run as printed once the cause is gone, finishes the
    /// job, and `watch` then exits 0.
    func testWatchOfAFailedJobExitsNonZeroWithFailedChunksAndTheRetryCommand() async throws {
        _ = FileManager.default.createFile(atPath: "\(dir)/poison", contents: nil)
        cluster = try ServiceCluster(mediaRoot: dir, extraEnvironment: [
            "REFRAME_SEGMENT_SECONDS": "1", "REFRAME_CHUNK_FRAMES": "\(Self.chunkFrames)", "REFRAME_DELIVERY_LIMIT": "2",
            "REFRAME_TEST_POISON": "upscale:\(Self.poisonedChunk)", "REFRAME_TEST_POISON_WHILE": "\(dir)/poison",
        ], logDirectory: "\(dir)/logs")
        let id = try cluster.reframe(["submit", "--source", "clip.mp4", "--output", "out.mp4", "--upscale", "2"])
        let watch = try Tool(["watch", id, "--interval", "0.2"], cluster: cluster, dir: dir, name: "watch-failed")
        let (status, stdout, stderr) = try await watch.finish(cluster: cluster, timeout: 180)
        XCTAssertEqual(status, 1, "a failed job: exit 1\n\(stdout)\n\(stderr)")
        XCTAssertTrue(stdout.contains("job \(id): failed"), stdout)
        XCTAssertTrue(stdout.contains("failed upscale chunk \(Self.poisonedChunk): "), stdout)
        XCTAssertTrue(stdout.contains("delivery limit"), stdout)
        let retryLine = try XCTUnwrap(stdout.split(separator: "\n").first { $0.contains("retry the failed chunks with: ") }, stdout)
        let command = String(retryLine.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces)
        XCTAssertEqual(command, "reframe retry \(id)")
        print("live progress: watch of the failed job (exit \(status)):\n\(stdout)")

        // Cause gone: the printed command, as printed, and the job finishes.
        try FileManager.default.removeItem(atPath: "\(dir)/poison")
        let requeued = try cluster.reframe(Array(command.split(separator: " ").dropFirst().map(String.init)))
        XCTAssertTrue(requeued.hasPrefix("requeued "), requeued)
        let again = try Tool(["watch", id, "--interval", "0.2"], cluster: cluster, dir: dir, name: "watch-done")
        let (doneStatus, doneOut, doneErr) = try await again.finish(cluster: cluster, timeout: 120)
        XCTAssertEqual(doneStatus, 0, "done: exit 0\n\(doneOut)\n\(doneErr)")
        XCTAssertTrue(doneOut.contains("job \(id): done"), doneOut)
        XCTAssertFalse(doneOut.contains("retry"), doneOut)
    }
}
