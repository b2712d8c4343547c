import Enhance
import Foundation
import Media
import TestSupport
import XCTest

/// Duplicate detection on real footage at the default threshold: repeats that went through a lossy
/// encoder are found, real motion — even a small ball on a still background — never is.
final class DuplicateDetectorTests: XCTestCase {
    let detector = DuplicateDetector(threshold: 0.007)

    func flags(_ path: String, limit: Int) throws -> [Bool] {
        let frames = Array(try MediaChecks.frames(path).prefix(limit))
        return zip(frames, frames.dropFirst()).map { detector.isDuplicate(previous: $0, current: $1) }
    }

    /// 25 → 50 fps by repeating every frame, then x264 at CRF 23 (repeats are not bit-exact): every
    /// second frame is a repeat.
    func testRepeatsOfACompressedRateConversionAreFound() throws {
        let dir = try MediaChecks.temporaryDirectory("dup")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        process.arguments = ["-v", "error", "-i", MediaChecks.realFootage("balle-jbart.mp4"), "-vf", "fps=50", "-frames:v", "60", "-an",
                             "-c:v", "libx264", "-crf", "23", "\(dir)/fifty.mp4"]
        try process.run()
        process.waitUntilExit()
        let found = try flags("\(dir)/fifty.mp4", limit: 60)
        let expected = (1..<60).map { $0 % 2 == 1 }  // frame i repeats i−1 when i is odd
        XCTAssertEqual(found, expected, "frames flagged as repeats: \(found.enumerated().filter(\.element).map { $0.offset + 1 })")
    }

    /// A thrown ball filmed at 187 fps: tiny motion between frames; the camera itself repeated a few
    /// frames (identical luma), and only those may be flagged.
    func testSmallRealMotionIsNotARepeat() throws {
        let frames = Array(try MediaChecks.frames(MediaChecks.realFootage("balle1-vp9.avi")).prefix(120))
        var real = 0
        for (a, b) in zip(frames, frames.dropFirst()) {
            let score = DuplicateDetector.score(a, b)
            if score > 0 {
                real += 1
                XCTAssertFalse(detector.isDuplicate(previous: a, current: b), "real motion scored \(score)")
            }
        }
        XCTAssertGreaterThan(real, 100)
    }
}
