import Foundation
import Media
import TestSupport
import XCTest

/// `reframe frames`: image mode gives the same pictures as the models' references (PyTorch for
/// RIFE, PyPI ncnn for the upscalers), through the built tool, PNG out.
final class FramesCommandTests: XCTestCase {
    func fixture(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: "ppm", subdirectory: "Fixtures") else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "Fixtures/\(name).ppm"])
        }
        return url.path
    }

    /// Runs the tool; returns (exit status, stdout + stderr).
    func reframe(_ arguments: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ServiceCluster.binDir() + "/reframe")
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    func testInterpolateAndUpscaleMatchTheReferences() throws {
        let dir = try MediaChecks.temporaryDirectory("frames")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let middle = "\(dir)/middle.png"
        let (status, text) = try reframe(["frames", "interpolate", try fixture("cockatoo-100"), try fixture("cockatoo-101"), "-o", middle])
        XCTAssertEqual(status, 0, text)
        let out = try ImageFile.read(middle), expected = try ImageFile.read(try fixture("rife-640x360"))
        let psnr = MediaChecks.psnr(out.data, expected.data)
        print(String(format: "reframe frames interpolate: %.2f dB against PyTorch", psnr))
        XCTAssertGreaterThanOrEqual(psnr, 45)

        let big = "\(dir)/big.png"
        let (upStatus, upText) = try reframe(["frames", "upscale", try fixture("astronaut-60-190-48"), "-o", big,
                                              "--model", "realesr-animevideov3", "--scale", "2"])
        XCTAssertEqual(upStatus, 0, upText)
        XCTAssertGreaterThanOrEqual(MediaChecks.psnr(try ImageFile.read(big).data, try ImageFile.read(try fixture("animevideov3-x2")).data), 45)
    }

    func testMismatchedImagesAreRefusedWithAReason() throws {
        let dir = try MediaChecks.temporaryDirectory("frames")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (status, text) = try reframe(["frames", "interpolate", try fixture("cockatoo-100"), try fixture("coffee-150-220-40"), "-o", "\(dir)/x.png"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(text.contains("differ in size"), text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/x.png"), "nothing is written for a refused input")
        let (badTime, timeText) = try reframe(["frames", "interpolate", try fixture("cockatoo-100"), try fixture("cockatoo-101"), "-o", "\(dir)/y.png", "--time", "1.5"])
        XCTAssertNotEqual(badTime, 0)
        XCTAssertTrue(timeText.contains("--time"), timeText)
    }
}
