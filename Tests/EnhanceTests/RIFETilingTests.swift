import Enhance
import Foundation
import Media
import TestSupport
import XCTest

/// RIFE within a memory budget: the tile plan covers the frame exactly once with cross-fades that
/// sum to one, and on real frames a tiled run stays within the budget and matches the whole-frame
/// run (and PyTorch) closely.
final class RIFETilingTests: XCTestCase {
    func testPlanCoversTheFrameWithWeightsSummingToOne() throws {
        let (w, h, halo) = (300, 200, 24)
        let whole = try XCTUnwrap(RIFETiling.plan(width: w, height: h, alignment: 32, halo: halo, maxPaddedArea: 320 * 224))
        XCTAssertEqual(whole.tiles.count, 1)
        let plan = try XCTUnwrap(RIFETiling.plan(width: w, height: h, alignment: 32, halo: halo, maxPaddedArea: 160 * 160))
        XCTAssertGreaterThan(plan.tiles.count, 2)
        var owner = [Int](repeating: 0, count: w * h)
        var weight = [Float](repeating: 0, count: w * h)
        for tile in plan.tiles {
            let pw = (tile.region.x.count + 31) / 32 * 32, ph = (tile.region.y.count + 31) / 32 * 32
            XCTAssertLessThanOrEqual(pw * ph, 160 * 160, "tile \(tile.region) over the area limit")
            XCTAssertTrue(tile.region.x.lowerBound == max(0, tile.core.x.lowerBound - halo) && tile.region.y.upperBound == min(h, tile.core.y.upperBound + halo))
            for y in tile.core.y { for x in tile.core.x { owner[y * w + x] += 1 } }
            for y in tile.region.y {
                for x in tile.region.x {
                    weight[y * w + x] += RIFETiling.weight(x, region: tile.region.x, extent: w, halo: halo)
                        * RIFETiling.weight(y, region: tile.region.y, extent: h, halo: halo)
                }
            }
        }
        XCTAssertEqual(owner.min(), 1, "every pixel belongs to exactly one core")
        XCTAssertEqual(owner.max(), 1)
        XCTAssertLessThan(weight.map { abs($0 - 1) }.max()!, 1e-5, "cross-fade weights must sum to one")
        XCTAssertNil(RIFETiling.plan(width: w, height: h, alignment: 32, halo: halo, maxPaddedArea: 64 * 64), "a budget below one tile is refused")
    }

    func testTiledFramesStayInBudgetAndMatchTheWholeFrame() throws {
        let a = try PPM.load("cockatoo-100"), b = try PPM.load("cockatoo-101"), expected = try PPM.load("rife-640x360")
        let (w, h) = (640, 360)
        let (x0, x1) = (RIFEParityTests.planar(a, width: w, height: h), RIFEParityTests.planar(b, width: w, height: h))
        let whole = try RIFENetwork.shared(options: NeuralRuntimeOptions(threads: 2, memoryBudget: 1 << 30))
        XCTAssertEqual(try whole.tiling(width: w, height: h).tiles.count, 1)
        // Weights and scratch plus 60 % of the whole frame's activations: a few tiles.
        let need = try whole.estimatedFootprint(paddedWidth: 640, paddedHeight: 384)
        let fixed = try whole.estimatedFootprint(paddedWidth: 0, paddedHeight: 0)
        let budget = fixed + (need - fixed) * 6 / 10
        let tiled = try RIFENetwork.shared(options: NeuralRuntimeOptions(threads: 2, memoryBudget: budget))
        let plan = try tiled.tiling(width: w, height: h)
        XCTAssertTrue((2...6).contains(plan.tiles.count), "\(plan.tiles.count) tiles")
        for tile in plan.tiles {
            let (pw, ph) = tiled.paddedSize(width: tile.region.x.count, height: tile.region.y.count)
            let actual = try tiled.executor.memoryFootprint(inputShapes: [[1, 3, ph, pw], [1, 3, ph, pw]])
            XCTAssertLessThanOrEqual(actual, budget, "tile \(pw)×\(ph) needs \(actual >> 20) MB of \(budget >> 20)")
        }
        var reference = [Float](repeating: .nan, count: 3 * w * h), out = reference
        try reference.withUnsafeMutableBufferPointer { try whole.middle(x0, x1, width: w, height: h, output: $0.baseAddress!) }
        try out.withUnsafeMutableBufferPointer { try tiled.middle(x0, x1, width: w, height: h, output: $0.baseAddress!) }
        let packed = RIFEParityTests.packed(out, width: w, height: h)
        let againstWhole = MediaChecks.psnr(packed, RIFEParityTests.packed(reference, width: w, height: h))
        let againstPyTorch = MediaChecks.psnr(packed, expected.data)
        print("RIFE \(plan.tiles.count) tiles in \(budget >> 20) MB (whole frame \(need >> 20) MB): "
              + String(format: "%.2f dB against the whole frame, %.2f dB against PyTorch", againstWhole, againstPyTorch))
        XCTAssertGreaterThanOrEqual(againstWhole, 50)
        XCTAssertGreaterThanOrEqual(againstPyTorch, 50)
    }
}
