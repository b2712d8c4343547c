import Core
import Enhance
import Foundation
import Media
import Neural
import TestSupport
import XCTest

/// The RIFE interpolator's timesteps: bisection for 1/2ⁿ positions, a cross-fade of the quarters
/// around any other position (or the nearest grid point when asked), real frames untouched.
final class NeuralInterpolatorTests: XCTestCase {
    let (w, h) = (320, 192)
    let options = NeuralRuntimeOptions(threads: 2, memoryBudget: 1 << 30)

    func crop(_ name: String) throws -> VideoFrame {
        let f = try PPM.load(name)
        var data: [UInt8] = []
        for y in 0..<h {
            let row = y * f.width * 3
            data += f.data[row..<(row + w * 3)]
        }
        return VideoFrame(width: w, height: h, pixelFormat: "rgb24", data: data, pts: 0)
    }

    /// What the network makes of two planar images, for building the expected bisection by hand.
    func middle(_ a: [Float], _ b: [Float]) throws -> [Float] {
        var out = [Float](repeating: 0, count: a.count)
        try out.withUnsafeMutableBufferPointer { try RIFENetwork.shared(options: options).middle(a, b, width: w, height: h, output: $0.baseAddress!) }
        return out
    }

    func testBisectionAndOffGridPositions() throws {
        let (a, b) = (try crop("cockatoo-100"), try crop("cockatoo-101"))
        let interpolator = try NeuralInterpolator(width: w, height: h, pixelFormat: "rgb24", runtime: options)
        let positions = [0, 0.25, 0.5, 0.75, 0.35, 1, 0.125]
        let samples = positions.enumerated().map { OutputTiming.Sample(pts: Int64(10 + $0.offset), left: 0, position: $0.element) }
        let out = try interpolator.interpolate(frames: [a, b], samples: samples)
        XCTAssertEqual(out.map(\.pts), [10, 11, 12, 13, 14, 15, 16], "each output carries its sample's pts")
        XCTAssertEqual(Self.differing(out[0].data, a.data), 0, "position 0 is the real frame, untouched")
        XCTAssertEqual(Self.differing(out[5].data, b.data), 0, "position 1 is the next real frame, untouched")

        let (pa, pb) = (RIFEParityTests.planar(a, width: w, height: h), RIFEParityTests.planar(b, width: w, height: h))
        let half = try middle(pa, pb)
        let quarter = try middle(pa, half), threeQuarters = try middle(half, pb)
        let eighth = try middle(pa, quarter)  // on the dyadic grid: bisected although finer than quarters
        let fade = zip(quarter, half).map { $0 + 0.4 * ($1 - $0) }  // 0.35 is 40 % of the way from ¼ to ½
        for (i, expected, what) in [(2, half, "½"), (1, quarter, "¼ = mid(0, ½)"), (3, threeQuarters, "¾ = mid(½, 1)"),
                                    (6, eighth, "⅛ = mid(0, ¼)"), (4, fade, "0.35 → ¼ + 0.4·(½ − ¼)")] {
            XCTAssertEqual(Self.differing(out[i].data, RIFEParityTests.packed(expected, width: w, height: h)), 0, "bytes differing at \(what)")
            XCTAssertGreaterThan(Self.differing(out[i].data, a.data), 1000, "\(what) is a new picture")
        }
        XCTAssertLessThan(MediaChecks.psnr(out[1].data, out[3].data), 40, "¼ and ¾ differ")

        // Snapping instead: 0.35 is nearest to ⅜ on the eighths grid.
        let snapping = try NeuralInterpolator(width: w, height: h, pixelFormat: "rgb24", depth: 3, offGrid: .nearest, runtime: options)
        let snapped = try snapping.interpolate(frames: [a, b], samples: [.init(pts: 0, left: 0, position: 0.35)])
        XCTAssertEqual(Self.differing(snapped[0].data, RIFEParityTests.packed(try middle(quarter, half), width: w, height: h)), 0, "0.35 → ⅜")
    }

    /// Bytes that differ (a count, so a failure does not print two whole images).
    static func differing(_ a: [UInt8], _ b: [UInt8]) -> Int {
        a.count != b.count ? max(a.count, b.count) : zip(a, b).reduce(0) { $0 + ($1.0 == $1.1 ? 0 : 1) }
    }

    func testFramesOfAnotherSizeAreRefused() throws {
        let interpolator = try NeuralInterpolator(width: w, height: h, pixelFormat: "rgb24", runtime: options)
        let small = VideoFrame(width: 64, height: 64, pixelFormat: "rgb24", data: [UInt8](repeating: 0, count: 64 * 64 * 3), pts: 0)
        XCTAssertThrowsError(try interpolator.interpolate(frames: [small, small], samples: [.init(pts: 0, left: 0, position: 0.5)]))
        let a = try crop("cockatoo-100")
        XCTAssertThrowsError(try interpolator.interpolate(frames: [a], samples: [.init(pts: 0, left: 0, position: 0.5)]),
                             "an in-between after the last frame needs a lookahead frame")
    }
}
