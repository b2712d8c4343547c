import Foundation
import XCTest

/// compose/docker-compose.yml and compose/k8s against their JSON schemas, through the pinned tools
/// of scripts/deploy-checks.sh (installed by scripts/setup.sh; pip fetches them here otherwise).
final class DeploymentSchemaTests: XCTestCase {
    func testComposeAndManifestsPassTheirSchemas() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let process = Process()
        process.executableURL = root.appendingPathComponent("scripts/deploy-checks.sh")
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, text)
        XCTAssertTrue(text.contains(" 0 failed"), text)
        XCTAssertFalse(text.contains("FAILED"), text)
    }
}
