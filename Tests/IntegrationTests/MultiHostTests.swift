import Core
import Foundation
import Media
import NIOHTTP1
import TestSupport
import XCTest

/// The pipeline spread over three hosts: Linux network namespaces joined by veth links to one
/// bridge, each with only its own loopback. RabbitMQ and Redis on the first, Ingest, Extractor
/// and Assembler on the second, Upscaler and Interpolator on the third; this machine is a client
/// on the same network. A job submitted over HTTP must finish with the right pictures, which
/// proves no stage relies on sharing a process or localhost with another. The media root is shared
/// storage, as a volume (NFS, a PVC) is in a real deployment.
final class MultiHostTests: XCTestCase {
    func testJobSubmittedOverHTTPRunsAcrossThreeHosts() async throws {
        let env = ProcessInfo.processInfo.environment
        let runDirectory = try XCTUnwrap(env["REFRAME_RUN_DIR"], "run the tests with scripts/test.sh")
        let lan: VirtualLAN
        do {
            lan = try VirtualLAN(hostNames: ["broker", "front", "workers"], runDirectory: runDirectory)
        } catch let failure as VirtualLAN.Failure {
            guard case .unavailable = failure else { throw failure }
            print("MultiHostTests SKIPPED: \(failure)")
            throw XCTSkip("multi-host run skipped: \(failure)")
        }
        defer { lan.remove() }
        let (broker, front, workers) = (lan.hosts["broker"]!, lan.hosts["front"]!, lan.hosts["workers"]!)

        // RabbitMQ and Redis on the broker host, listening on its LAN address only, on their
        // standard ports (nothing else shares that host's network).
        let brokerEnvironment = ["REFRAME_RUN_DIR": "\(lan.directory)/broker", "REFRAME_AMQP_PORT": "5672",
                                 "REFRAME_REDIS_PORT": "6379", "REFRAME_BIND_ADDRESS": broker.address]
        try lan.recordBroker(on: "broker", environment: brokerEnvironment)
        let onBroker = try lan.launcher(on: "broker")
        defer { _ = try? ServiceCluster.services("stop", environment: brokerEnvironment, launcher: onBroker) }
        _ = try ServiceCluster.services("start", environment: brokerEnvironment, launcher: onBroker)
        let amqpURL = "amqp://guest:guest@\(broker.address):5672/", redisURL = "redis://\(broker.address):6379/0"

        let dir = try MediaChecks.temporaryDirectory("multihost")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try MediaChecks.writeClip("\(dir)/clip.mp4", frames: 30, keyframeInterval: 15)

        let cluster = try ServiceCluster(
            mediaRoot: dir, amqpURL: amqpURL, redisURL: redisURL, binDir: ServiceCluster.binDir(), runDirectory: runDirectory,
            extraEnvironment: ["REFRAME_SEGMENT_SECONDS": "0.5", "REFRAME_CHUNK_FRAMES": "8"],
            logDirectory: "\(dir)/logs", lan: lan,
            placement: ["Ingest": "front", "Extractor": "front", "Assembler": "front", "Upscaler": "workers", "Interpolator": "workers"])
        defer { cluster.stop() }
        XCTAssertEqual(cluster.httpHost, front.address)

        let api = APIClient(base: "http://\(front.address):\(cluster.httpPort)", token: try XCTUnwrap(cluster.apiTokens["alpha"]))
        do {
            try await api.awaitReady()
            let spec = JobSpec(source: "clip.mp4", output: "out/multihost.mp4", upscale: UpscaleSpec(factor: 2, model: "lanczos"),
                               interpolate: InterpolateSpec(factor: 2, model: "rife"), encode: EncodeSpec(crf: 0, preset: "ultrafast"))
            let created = try await api.call(.POST, "/v1/jobs", body: try JSONEncoder().encode(spec))
            XCTAssertEqual(created.status, 201, created.text)
            let id = try XCTUnwrap(created.json["id"] as? String, created.text)
            let done = try await api.waitForEnd(id) {
                guard cluster.allRunning else { throw ServiceCluster.Failure.notConfigured("services died: \(cluster.ended)") }
            }
            XCTAssertEqual(done.json["state"] as? String, "done", done.text)
            let stages = (done.json["stages"] as? [[String: Any]] ?? []).compactMap { $0["stage"] as? String }
            XCTAssertEqual(stages, ["extract", "interpolate", "upscale", "encode"], done.text)

            // The output, downloaded over HTTP, is the file the Assembler wrote on the shared volume.
            let download = try await api.call(.GET, "/v1/jobs/\(id)/output")
            XCTAssertEqual(download.status, 200)
            let written = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/out/multihost.mp4"))
            XCTAssertEqual(download.body, written)
            let downloaded = "\(dir)/downloaded.mp4"
            try download.body.write(to: URL(fileURLWithPath: downloaded))

            // Pictures: the same job run in one process here gives identical frames, and the kept
            // source frames (every other one) match FFmpeg's own Lanczos upscale.
            _ = try cluster.reframe(["process", "\(dir)/clip.mp4", "-o", "\(dir)/embedded.mp4", "--upscale", "2", "--interpolate", "2",
                                     "--interp-model", "rife", "--quiet"] + MediaChecks.losslessEncoding)
            XCTAssertEqual(try MediaChecks.differingFrames(downloaded, from: "\(dir)/embedded.mp4"), [])
            let worst = try MediaChecks.worstPSNRAgainstFFmpegLanczos(downloaded, source: "\(dir)/clip.mp4", factor: 2, every: 2)
            XCTAssertGreaterThan(worst, 35, "the kept source frames against FFmpeg's Lanczos")

            // Each host reached the broker and the store by its LAN address, and the stage hosts are
            // the only peers (plus this client, which asks Redis here).
            let connections = try ServiceCluster.services("ctl", ["list_connections", "--no-table-headers", "peer_host"], environment: brokerEnvironment, launcher: onBroker)
            let amqpPeers = Set(connections.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
            XCTAssertEqual(amqpPeers, [front.address, workers.address], connections)
            let clients = try MediaChecks.run("/usr/bin/redis-cli", ["-h", broker.address, "-p", "6379", "client", "list"])
            let redisPeers = Set(clients.split(separator: "\n").compactMap { line in
                line.split(separator: " ").first { $0.hasPrefix("addr=") }.map { String($0.dropFirst(5).split(separator: ":")[0]) }
            })
            XCTAssertEqual(redisPeers, [front.address, workers.address, lan.clientAddress], clients)
            XCTAssertTrue(cluster.allRunning, "\(cluster.ended)")
        } catch {
            cluster.printLogTails()
            throw error
        }
    }
}
