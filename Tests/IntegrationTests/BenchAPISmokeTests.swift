import Foundation
import TestSupport
import XCTest

/// `reframe bench api` end to end, briefly: it starts its own broker, store and Ingest, drives
/// them with wrk and an event-stream fan-out, and reports every figure with no error. The figures
/// themselves are the benchmark's business, not a test's.
final class BenchAPISmokeTests: XCTestCase {
    func testTheAPIBenchmarkRunsCleanly() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "\(ServiceCluster.binDir())/reframe")
        p.arguments = ["bench", "api", "--seconds", "1", "--connections", "4", "--threads", "1", "--watchers", "20"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text)
        for endpoint in ["GET /healthz (reference)", "GET /v1/jobs/{id}", "POST /v1/jobs"] {
            let line = text.split(separator: "\n").first { $0.contains(endpoint) } ?? ""
            XCTAssertTrue(line.contains("req/s") && line.contains("p99") && line.contains(" 0 not 2xx, 0 socket errors"), "\(endpoint): \(text)")
        }
        XCTAssertTrue(text.contains("SSE fan-out    20 watchers: all connected"), text)
        XCTAssertTrue(text.contains("; 0 failed"), text)
        XCTAssertTrue(text.hasSuffix("summary: PASS (no errors)\n"), text)
    }
}
