import Pipeline
import XCTest

/// The fault-handling settings read from the environment: defaults, values, and refusals that say what to change.
final class ServiceConfigurationTests: XCTestCase {
    let base = ["REFRAME_MEDIA_ROOT": NSTemporaryDirectory()]

    func testHeartbeatAndShutdownGraceDefaultsAndValues() throws {
        let defaults = try ServiceConfiguration.fromEnvironment(base)
        XCTAssertEqual(defaults.amqpHeartbeat, 30)
        XCTAssertEqual(defaults.shutdownGrace, 20)
        let set = try ServiceConfiguration.fromEnvironment(base.merging([
            "REFRAME_AMQP_HEARTBEAT_SECONDS": "3", "REFRAME_SHUTDOWN_GRACE_SECONDS": "2.5"]) { $1 })
        XCTAssertEqual(set.amqpHeartbeat, 3)
        XCTAssertEqual(set.shutdownGrace, 2.5)
    }

    func testBadHeartbeatOrGraceIsRefusedByName() {
        for (name, value) in [("REFRAME_AMQP_HEARTBEAT_SECONDS", "0"), ("REFRAME_AMQP_HEARTBEAT_SECONDS", "fast"),
                              ("REFRAME_SHUTDOWN_GRACE_SECONDS", "-1"), ("REFRAME_SHUTDOWN_GRACE_SECONDS", "soon")] {
            XCTAssertThrowsError(try ServiceConfiguration.fromEnvironment(base.merging([name: value]) { $1 })) { error in
                XCTAssertTrue("\(error)".contains(name), "\(error)")
            }
        }
    }

    func testHTTPAndMetricsPortsAndHost() throws {
        let defaults = try ServiceConfiguration.fromEnvironment(base)
        XCTAssertEqual(defaults.httpPort, 8080)
        XCTAssertEqual(defaults.metricsPort, 0, "off unless asked: five services on one host would fight over one port")
        XCTAssertEqual(defaults.metricsHost, "127.0.0.1", "loopback unless asked: the container image asks for all interfaces")
        let set = try ServiceConfiguration.fromEnvironment(base.merging([
            "REFRAME_HTTP_PORT": "18080", "REFRAME_METRICS_PORT": "9464", "REFRAME_METRICS_HOST": "0.0.0.0"]) { $1 })
        XCTAssertEqual(set.httpPort, 18080)
        XCTAssertEqual(set.metricsPort, 9464)
        XCTAssertEqual(set.metricsHost, "0.0.0.0")
        XCTAssertEqual(try ServiceConfiguration.fromEnvironment(base.merging(["REFRAME_HTTP_PORT": "0"]) { $1 }).httpPort, 0, "0: any free port")
        for (name, value) in [("REFRAME_HTTP_PORT", "65536"), ("REFRAME_HTTP_PORT", "-1"), ("REFRAME_METRICS_PORT", "65536"),
                              ("REFRAME_METRICS_PORT", "-1"), ("REFRAME_METRICS_PORT", "http"), ("REFRAME_METRICS_HOST", "a b"),
                              ("REFRAME_METRICS_HOST", "")] {
            XCTAssertThrowsError(try ServiceConfiguration.fromEnvironment(base.merging([name: value]) { $1 })) { error in
                XCTAssertTrue("\(error)".contains(name), "\(error)")
            }
        }
    }

    func testSubmitRecoveryAge() throws {
        XCTAssertEqual(try ServiceConfiguration.fromEnvironment(base).submitRecoverySeconds, 30)
        XCTAssertEqual(try ServiceConfiguration.fromEnvironment(base.merging(["REFRAME_SUBMIT_RECOVERY_SECONDS": "2.5"]) { $1 }).submitRecoverySeconds, 2.5)
        for value in ["0", "-1", "86401", "soon"] {
            XCTAssertThrowsError(try ServiceConfiguration.fromEnvironment(base.merging(["REFRAME_SUBMIT_RECOVERY_SECONDS": value]) { $1 })) { error in
                XCTAssertTrue("\(error)".contains("REFRAME_SUBMIT_RECOVERY_SECONDS"), "\(error)")
            }
        }
    }
}
