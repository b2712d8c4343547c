import Enhance
import Foundation
import Media
import Neural
import TestSupport
import XCTest

/// RIFE HDv3 on our runtime against the original PyTorch code (python3-torch, CPU) on two real
/// cockatoo.mp4 frames: benchmarks/reference/rife_reference.py regenerates the fixtures.
final class RIFEParityTests: XCTestCase {
    static func planar(_ f: VideoFrame, width: Int, height: Int) -> [Float] {
        (0..<3).flatMap { c in (0..<(width * height)).map { i in Float(f.data[3 * ((i / width) * f.width + i % width) + c]) / 255 } }
    }

    static func packed(_ p: [Float], width: Int, height: Int) -> [UInt8] {
        let plane = width * height
        return (0..<(3 * plane)).map { i in NeuralUpscaler.toByte(p[(i % 3) * plane + i / 3]) }
    }

    func testMiddleFrameMatchesPyTorch() throws {
        let a = try PPM.load("cockatoo-100"), b = try PPM.load("cockatoo-101")
        let network = try RIFENetwork.shared(options: NeuralRuntimeOptions(threads: 2, memoryBudget: 1 << 30))
        for (fixture, w, h) in [("rife-640x360", 640, 360), ("rife-601x343", 601, 343)] {
            let expected = try PPM.load(fixture)
            let (x0, x1) = (Self.planar(a, width: w, height: h), Self.planar(b, width: w, height: h))
            var out = [Float](repeating: .nan, count: 3 * w * h)
            try out.withUnsafeMutableBufferPointer { try network.middle(x0, x1, width: w, height: h, output: $0.baseAddress!) }
            let psnr = MediaChecks.psnr(Self.packed(out, width: w, height: h), expected.data)
            // The inputs must differ from the expected middle frame, or matching it would prove nothing.
            let psnrA = MediaChecks.psnr(Self.packed(x0, width: w, height: h), expected.data)
            print("parity \(fixture): \(String(format: "%.2f", psnr)) dB against PyTorch (first input: \(String(format: "%.2f", psnrA)) dB)")
            XCTAssertGreaterThanOrEqual(psnr, 45, fixture)
            XCTAssertLessThan(psnrA, 35, "\(fixture): the frames must differ enough for the test to mean something")
        }
    }
}
