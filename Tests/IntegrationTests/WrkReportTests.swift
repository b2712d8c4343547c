import TestSupport
import XCTest

/// `reframe bench api` reads wrk's report: figures, units and error counts must come out right.
final class WrkReportTests: XCTestCase {
    func testReadsRateLatencyPercentilesAndErrors() throws {
        let report = """
        Running 1s test @ http://127.0.0.1:18765/nonexistent
          1 threads and 2 connections
          Thread Stats   Avg      Stdev     Max   +/- Stdev
            Latency     1.70ms    2.18ms  26.64ms   95.33%
            Req/Sec     1.30k   293.72     1.82k    70.00%
          Latency Distribution
             50%  812.00us
             75%    1.90ms
             90%    2.80ms
             99%    1.50s
          1299 requests in 1.00s, 659.65KB read
          Socket errors: connect 0, read 2, write 1, timeout 4
          Non-2xx or 3xx responses: 17
        Requests/sec:   1297.45
        Transfer/sec:    658.86KB
        """
        let r = try Wrk.parse(report)
        XCTAssertEqual(r.requestsPerSecond, 1297.45)
        XCTAssertEqual(r.requests, 1299)
        XCTAssertEqual(r.non2xx, 17)
        XCTAssertEqual(r.socketErrors, 7)
        XCTAssertEqual(r.p50, 0.812, accuracy: 1e-9)
        XCTAssertEqual(r.latencyMs[75] ?? 0, 1.9, accuracy: 1e-9)
        XCTAssertEqual(r.p99, 1500, accuracy: 1e-9)
    }

    func testRefusesAReportWithoutFigures() {
        XCTAssertThrowsError(try Wrk.parse("unable to connect to 127.0.0.1:1 Connection refused"))
    }
}
