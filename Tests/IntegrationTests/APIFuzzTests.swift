import AsyncHTTPClient
import Core
import Foundation
import NIOCore
import TestSupport
import XCTest

/// schemathesis (scripts/api-fuzz.sh) against the running Ingest and its contract: no 5xx, no status,
/// content type or body the contract does not describe. The media root holds no video, so every
/// generated job fails at validation (422) and the pipeline never runs; generated uploads are small
/// (the upload limit is 1 MiB) and land in the cluster's temporary media root.
final class APIFuzzTests: XCTestCase {
    func testSchemathesisFindsNothing() async throws {
        let dir = try MediaChecks.temporaryDirectory("api-fuzz")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Rate limit out of the way: 429s are in the contract, but each one is a case that tested nothing else.
        let cluster = try ServiceCluster(mediaRoot: dir, extraEnvironment: ["REFRAME_API_RATE": "100000", "REFRAME_API_MAX_UPLOAD": "1048576"])
        defer { cluster.stop() }
        let base = "http://127.0.0.1:\(cluster.httpPort)"
        try await Self.awaitReady(base)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/api-fuzz.sh").path
        let token = try XCTUnwrap(cluster.apiTokens["alpha"])
        let started = Date()
        let ran = try await BlockingWork.run { try ExternalTool.runToEnd(script, [base, token]) }
        let report = ran.output + ran.errors
        print(report)
        XCTAssertEqual(ran.status, 0, "schemathesis found problems (its report is above):\n\(report.suffix(20_000))")
        XCTAssertTrue(report.contains("uploadFile") || report.contains("/v1/uploads/{name}"), "the upload operation was fuzzed too")
        print("schemathesis ran \(Int(Date().timeIntervalSince(started))) s")
        XCTAssertTrue(cluster.allRunning, "no service died under fuzzing: \(cluster.ended)")
    }

    static func awaitReady(_ base: String) async throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "\(base)/readyz"), timeout: .seconds(5)),
               response.status == .ok { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTFail("Ingest's HTTP API did not answer /readyz within 30 s")
    }
}
