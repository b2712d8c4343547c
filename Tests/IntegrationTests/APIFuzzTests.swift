import AsyncHTTPClient
import Core
import Foundation
import Media
import NIOCore
import TestSupport
import XCTest

/// schemathesis (scripts/api-fuzz.sh) against the running Ingest and its contract: no 5xx, no status,
/// content type or body the contract does not describe. The pipeline stays quiet: the one job is a
/// 10-frame Lanczos upscale made before fuzzing (its id is every generated `{id}`, so reading, cancelling,
/// streaming and downloading it are fuzzed, Range headers included); the media root holds no other
/// video, so every generated spec fails at validation (422) and never reaches a stage; generated
/// uploads are small (the upload limit is 1 MiB) and land in the cluster's temporary media root.
final class APIFuzzTests: XCTestCase {
    func testSchemathesisFindsNothing() async throws {
        let dir = try MediaChecks.temporaryDirectory("api-fuzz")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var clip = SyntheticClip.Options()
        clip.frames = 10
        try SyntheticClip.write(path: "\(dir)/clip.mp4", options: clip)
        // Rate limit out of the way: 429s are in the contract, but each one is a case that tested nothing else.
        let cluster = try ServiceCluster(mediaRoot: dir, extraEnvironment: ["REFRAME_API_RATE": "100000", "REFRAME_API_MAX_UPLOAD": "1048576"])
        defer { cluster.stop() }
        let base = "http://127.0.0.1:\(cluster.httpPort)"
        let token = try XCTUnwrap(cluster.apiTokens["alpha"])
        try await Self.awaitReady(base)
        let job = try await Self.finishedJob(base, token: token)

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/api-fuzz.sh").path
        let started = Date()
        let ran = try await BlockingWork.run { try ExternalTool.runToEnd(script, [base, token], environment: ["REFRAME_FUZZ_JOB_ID": job]) }
        let report = ran.output + ran.errors
        print(report)
        print("schemathesis ran \(Int(Date().timeIntervalSince(started))) s")
        XCTAssertEqual(ran.status, 0, "schemathesis found problems (its report is above)")
        // Every operation of the contract was generated for, not skipped.
        let selected = try XCTUnwrap(report.firstMatch(of: /Selected: (\d+)\/(\d+)/), report)
        XCTAssertEqual(selected.1, selected.2)
        XCTAssertTrue(report.contains("Tested: \(selected.1)\n"), report)
        XCTAssertTrue(cluster.allRunning, "no service died under fuzzing: \(cluster.ended)")
    }

    static func awaitReady(_ base: String) async throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "\(base)/readyz"), timeout: .seconds(5)),
               response.status == .ok { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw ServiceCluster.Failure.notConfigured("Ingest's HTTP API did not answer /readyz within 30 s")
    }

    /// A job of the token's tenant, run to its end, so its output is there to download.
    static func finishedJob(_ base: String, token: String) async throws -> String {
        var create = HTTPClientRequest(url: "\(base)/v1/jobs")
        create.method = .POST
        create.headers.add(name: "Authorization", value: "Bearer \(token)")
        create.headers.add(name: "Content-Type", value: "application/json")
        let spec = JobSpec(source: "clip.mp4", output: "out.mp4", upscale: UpscaleSpec(factor: 2, model: "lanczos"))
        create.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(spec)))
        let created = try await HTTPClient.shared.execute(create, timeout: .seconds(30))
        let body = try await created.body.collect(upTo: 1 << 20)
        let json = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        guard created.status == .created, let id = json?["id"] as? String else {
            throw ServiceCluster.Failure.notConfigured("POST /v1/jobs answered \(created.status): \(String(buffer: body))")
        }
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            var get = HTTPClientRequest(url: "\(base)/v1/jobs/\(id)")
            get.headers.add(name: "Authorization", value: "Bearer \(token)")
            let reply = try await HTTPClient.shared.execute(get, timeout: .seconds(30))
            let state = (try JSONSerialization.jsonObject(with: Data(try await reply.body.collect(upTo: 1 << 20).readableBytesView)) as? [String: Any])?["state"] as? String
            if state == "done" { return id }
            if let state, state != "running", state != "queued" { throw ServiceCluster.Failure.notConfigured("job \(id) ended \(state)") }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        throw ServiceCluster.Failure.notConfigured("job \(id) not done within 120 s")
    }
}
