import Core
import Foundation
import Harness
import TestSupport
import XCTest

/// Issue 11's container matrix through the whole embedded pipeline: for each container and codec,
/// with half-second segments so there are several, the output is identical across two runs, every
/// frame keeps its source time, the pictures match FFmpeg's CLI doing the same deinterlace and
/// Lanczos scale, and the audio track is there, legal in its container, whole, still the source's
/// 440 Hz tone, and sample for sample the source's where it was copied (ContainerMatrixRun).
/// Segment-by-segment decode exactness for the same containers is SegmentExactnessTests'.
final class ContainerMatrixTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try MediaChecks.temporaryDirectory("matrix") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func check(_ files: [String], file: StaticString = #filePath, line: UInt = #line) async throws {
        let runner = ContainerMatrixRun(directory: dir)
        for name in files {
            let c = try XCTUnwrap(ContainerMatrix.cases.first { $0.file == name }, name)
            let result = try await runner.run(c)
            print("matrix: \(result.line)")
            XCTAssertEqual(result.problems, [], c.name, file: file, line: line)
            if c.interlaced != nil {
                XCTAssertEqual(result.deinterlaced, c.interlaced, "\(c.name): auto deinterlaces with the stream's field order", file: file, line: line)
            }
        }
    }

    func testMPEG2ProgramAndTransportStreamsProgressiveAndInterlaced() async throws {
        try await check(["ps.mpg", "ts.ts", "tff.mpg", "bff.mpg"])
    }

    func testMP4MOVAndMatroska() async throws {
        try await check(["h264.mp4", "hevc.mov", "h264.mkv", "vfr.mp4"])
    }

    func testAVIWebMFLVAnd3GP() async throws {
        try await check(["mjpeg.avi", "asp.avi", "vp8.webm", "vp9.webm", "sorenson.flv", "h263.3gp"])
    }

    func testEveryCaseIsInATest() {
        let tested: Set = ["ps.mpg", "ts.ts", "tff.mpg", "bff.mpg", "h264.mp4", "hevc.mov", "h264.mkv", "vfr.mp4",
                           "mjpeg.avi", "asp.avi", "vp8.webm", "vp9.webm", "sorenson.flv", "h263.3gp"]
        XCTAssertEqual(Set(ContainerMatrix.cases.map(\.file)), tested)
    }
}
