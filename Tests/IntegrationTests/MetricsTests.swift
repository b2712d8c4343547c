import Core
import Foundation
import Media
import Pipeline
import Store
import TestSupport
import XCTest

/// Every service's `/metrics` after a real job through the five services as processes: the counters
/// equal the job's own record (plan, counters, chunk states); `/healthz` and `/readyz` answer, and
/// `/readyz` says 503 while Redis is down and 200 again once it is back.
final class MetricsTests: XCTestCase {
    var dir = ""
    var cluster: ServiceCluster!
    /// 4 s at 30 fps in 1 s segments and 10-frame chunks: 4 segments, 12 chunks, each through
    /// upscale, interpolate (the cheap blend model) and encode.
    static let environment = ["REFRAME_SEGMENT_SECONDS": "1", "REFRAME_CHUNK_FRAMES": "10"]
    static let spec = ["--upscale", "2", "--interpolate", "2", "--interp-model", "blend"] + MediaChecks.losslessEncoding
    /// The stages each service runs.
    static let stages: [String: [Stage]] = [
        "Ingest": [.ingest], "Extractor": [.extract], "Upscaler": [.upscale], "Interpolator": [.interpolate], "Assembler": [.encode, .finalize],
    ]

    override func setUpWithError() throws {
        dir = try MediaChecks.temporaryDirectory("metrics")
        try MediaChecks.writeClip("\(dir)/clip.mp4", frames: 120, keyframeInterval: 30)
        cluster = try ServiceCluster(mediaRoot: dir, extraEnvironment: Self.environment, logDirectory: "\(dir)/logs")
    }

    override func tearDown() {
        // Redis back for the tests after this one, whatever happened here.
        _ = try? ServiceCluster.services("start-redis")
        cluster?.stop()
        if let run = testRun, run.totalFailureCount > 0 { cluster?.printLogTails(characters: 3000) }
        try? FileManager.default.removeItem(atPath: dir)
    }

    func port(_ name: String) throws -> Int {
        let ports = cluster.metricsPorts(name)
        XCTAssertEqual(ports.count, 1, "one \(name) process")
        return try XCTUnwrap(ports.first)
    }

    func testCountersMatchTheJobAndReadinessFollowsTheStore() async throws {
        let id = try cluster.reframe(["submit", "--source", "clip.mp4", "--output", "out.mp4"] + Self.spec)
        let jobs = JobStore(kv: try RedisStore(url: cluster.redisURL, connections: 1))
        let end = try await cluster.progress(id, jobs, timeout: 300) { $0.state.isFinal }
        XCTAssertEqual(end.state, .done, end.error ?? "")

        // What the job's record says was done.
        let plan = try await jobs.plan(id)
        let counts = try await jobs.counts(id)
        let states = try await jobs.chunkStates(id)
        func frames(_ stage: Stage) -> Int {
            states.filter { $0.key.hasSuffix(":\(stage.rawValue)") && $0.value.state == .done }.reduce(0) { $0 + $1.value.frames }
        }
        XCTAssertEqual(counts.segmentsExtracted, plan.segments.count)
        XCTAssertEqual(counts.chunksEncoded, counts.chunksPlanned)
        XCTAssertGreaterThan(counts.chunksPlanned, plan.segments.count, "segments were cut into several chunks")
        let expected: [Stage: (messages: Int, frames: Int?)] = [
            .ingest: (1, nil),
            .extract: (plan.segments.count, frames(.extract)),
            .upscale: (counts.chunksPlanned, frames(.upscale)),
            .interpolate: (counts.chunksPlanned, frames(.interpolate)),
            .encode: (counts.chunksEncoded, frames(.encode)),
            .finalize: (1, frames(.encode)),
        ]
        XCTAssertEqual(frames(.extract), 120, "every source frame extracted")
        XCTAssertEqual(frames(.encode), 240, "2× interpolation encoded")

        var scraped: [String: [String: Double]] = [:]
        for name in ServiceCluster.services {
            let port = try port(name)
            let (status, body) = try await MetricsScrape.get(port: port, "/metrics")
            XCTAssertEqual(status, 200, "\(name) /metrics")
            let samples = MetricsScrape.samples(body)
            scraped[name] = samples
            for stage in Self.stages[name]! {
                let s = stage.rawValue
                let want = try XCTUnwrap(expected[stage])
                XCTAssertEqual(MetricsScrape.value(samples, "reframe_chunks_processed_total", stage: s), Double(want.messages), "\(name) \(s) processed")
                XCTAssertEqual(MetricsScrape.value(samples, "reframe_chunk_seconds_count", stage: s), Double(want.messages), "\(name) \(s) timed")
                XCTAssertEqual(MetricsScrape.value(samples, "reframe_chunks_failed_total", stage: s) ?? 0, 0, "\(name) \(s) failed")
                XCTAssertEqual(MetricsScrape.value(samples, "reframe_chunks_retried_total", stage: s) ?? 0, 0, "\(name) \(s) redelivered")
                if let frames = want.frames {
                    XCTAssertEqual(MetricsScrape.value(samples, "reframe_frames_total", stage: s), Double(frames), "\(name) \(s) frames")
                    XCTAssertGreaterThan(MetricsScrape.value(samples, "reframe_bytes_total", stage: s) ?? 0, 0, "\(name) \(s) bytes")
                }
                // Every message but the client's own (ingest) was published by a stage, with its time.
                if stage != .ingest {
                    XCTAssertEqual(MetricsScrape.value(samples, "reframe_queue_wait_seconds_count", stage: s), Double(want.messages), "\(name) \(s) queue wait")
                }
            }
            // A done job holds no frames: the gauge read from the store at this scrape says so.
            XCTAssertEqual(samples["reframe_inflight_bytes"], 0, "\(name) in-flight bytes")
            let health = try await MetricsScrape.get(port: port, "/healthz")
            let ready = try await MetricsScrape.get(port: port, "/readyz")
            XCTAssertEqual(health.status, 200, "\(name) /healthz")
            XCTAssertEqual(ready.status, 200, "\(name) /readyz: \(ready.body)")
        }
        let assembler = try XCTUnwrap(scraped["Assembler"])
        XCTAssertEqual(assembler["reframe_jobs_total{outcome=\"done\"}"], 1, "the job's end counted once")
        let output = try FileManager.default.attributesOfItem(atPath: "\(dir)/out.mp4")[.size] as? Int
        XCTAssertEqual(MetricsScrape.value(assembler, "reframe_bytes_total", stage: "finalize"), output.map(Double.init), "finalize wrote the output's bytes")
        for (name, samples) in scraped where name != "Assembler" {
            XCTAssertNil(samples["reframe_jobs_total{outcome=\"done\"}"], "\(name) does not end jobs")
        }

        // Redis down: every service says it is not ready (and still alive); back up: ready again.
        try ServiceCluster.services("stop-redis")
        let downAt = Date()
        for name in ServiceCluster.services {
            let port = try port(name)
            let body = try await awaitReadiness(port: port, status: 503, name: name)
            XCTAssertTrue(body.contains("store"), "\(name) names the store: \(body)")
            let health = try await MetricsScrape.get(port: port, "/healthz")
            XCTAssertEqual(health.status, 200, "\(name) alive while Redis is down")
        }
        let noticed = Date().timeIntervalSince(downAt)
        try ServiceCluster.services("start-redis")
        let upAt = Date()
        for name in ServiceCluster.services { _ = try await awaitReadiness(port: try port(name), status: 200, name: name) }
        XCTAssertTrue(cluster.allRunning, "no service died with Redis: \(cluster.ended)")
        print("metrics: Redis down seen by all five /readyz in \(String(format: "%.2f", noticed)) s; ready again in \(String(format: "%.2f", Date().timeIntervalSince(upAt))) s")
    }

    /// Polls `/readyz` until it answers `status`; returns its body.
    func awaitReadiness(port: Int, status: Int, name: String, timeout: Double = 30) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var last = (status: 0, body: "")
        while Date() < deadline {
            last = try await MetricsScrape.get(port: port, "/readyz")
            if last.status == status { return last.body }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTFail("\(name) /readyz did not answer \(status) within \(Int(timeout)) s; last \(last.status) \(last.body)")
        return last.body
    }
}
