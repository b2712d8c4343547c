import Enhance
import Foundation
import Media
import Neural
import TestSupport
import XCTest

/// Our runtime against golden outputs that PyPI ncnn produced from the same model files and
/// photo crops (benchmarks/reference/make_fixtures.py regenerates them). Needs the models:
/// `reframe models fetch` (the test command runs it).
final class NcnnParityTests: XCTestCase {
    struct Case {
        var fixture: String
        var model: String
        var factor: Int
        var noise: Int?
        var input: String
    }

    static let cases: [Case] = [
        Case(fixture: "animevideov3-x2", model: "realesr-animevideov3", factor: 2, input: "astronaut-60-190-48"),
        Case(fixture: "animevideov3-x3", model: "realesr-animevideov3", factor: 3, input: "astronaut-60-190-48"),
        Case(fixture: "animevideov3-x4", model: "realesr-animevideov3", factor: 4, input: "astronaut-60-190-48"),
        Case(fixture: "x4plus", model: "realesrgan-x4plus", factor: 4, input: "coffee-150-220-40"),
        Case(fixture: "waifu2x-photo-scale", model: "waifu2x-photo", factor: 2, noise: -1, input: "coffee-150-220-48"),
    ] + (0...3).map { (n: Int) in Case(fixture: "waifu2x-photo-noise\(n)", model: "waifu2x-photo", factor: 2, noise: n, input: "coffee-150-220-48") }

    func testEveryModelMatchesNcnnOnARealPhoto() throws {
        for c in Self.cases {
            let input = try PPM.load(c.input)
            let expected = try PPM.load(c.fixture)
            let upscaler = try NeuralUpscaler(model: c.model, factor: c.factor, noise: c.noise, width: input.width, height: input.height,
                                              pixelFormat: "rgb24", runtime: NeuralRuntimeOptions(threads: 2, memoryBudget: 256 << 20))
            let output = try upscaler.upscale(input)
            XCTAssertEqual(output.width, expected.width, c.fixture)
            XCTAssertEqual(output.height, expected.height, c.fixture)
            let psnr = MediaChecks.psnr(output.data, expected.data)
            print("parity \(c.fixture): \(String(format: "%.1f", psnr)) dB against ncnn")
            XCTAssertGreaterThanOrEqual(psnr, 45, "\(c.fixture): \(psnr) dB against ncnn")
        }
    }

    /// Small tiles (so a 48-pixel crop is cut into 3×3) must stitch invisibly.
    func testTiledOutputMatchesUntiled() throws {
        let input = try PPM.load("astronaut-60-190-48")
        for (model, factor, noise) in [("realesr-animevideov3", 2, nil), ("waifu2x-photo", 2, Optional(1))] {
            let variant = try NeuralModelVariant.resolve(model: model, factor: factor, noise: noise)
            let files = try ModelStore().files(for: variant)
            let executor = try Executor(graph: try NcnnImporter.load(param: files.param, weights: files.weights), threads: 2)
            let tiled = TiledInference(executor: executor, geometry: TilingGeometry(
                scale: variant.networkScale, prepadding: variant.prepadding, valid: variant.valid, context: variant.valid ? 0 : 16))
            let planar = (0..<3).flatMap { ch in (0..<(48 * 48)).map { Float(input.data[3 * $0 + ch]) / 255 } }
            var whole = [Float](repeating: 0, count: 3 * 96 * 96), pieces = whole
            try planar.withUnsafeBufferPointer { i in
                try whole.withUnsafeMutableBufferPointer { try tiled.run(input: i.baseAddress!, width: 48, height: 48, output: $0.baseAddress!, tileSide: 48) }
                try pieces.withUnsafeMutableBufferPointer { try tiled.run(input: i.baseAddress!, width: 48, height: 48, output: $0.baseAddress!, tileSide: 16) }
            }
            var se = 0.0
            for i in 0..<whole.count { se += Double(whole[i] - pieces[i]) * Double(whole[i] - pieces[i]) }
            let psnr = se == 0 ? Double.infinity : 10 * log10(Double(whole.count) / se)
            XCTAssertGreaterThanOrEqual(psnr, 50, "\(model): tiled vs untiled \(psnr) dB")
        }
    }

    /// The tile side follows the memory budget: a smaller budget gives smaller tiles.
    func testTileSideFollowsMemoryBudget() throws {
        let variant = try NeuralModelVariant.resolve(model: "realesr-animevideov3", factor: 4, noise: nil)
        let files = try ModelStore().files(for: variant)
        let executor = try Executor(graph: try NcnnImporter.load(param: files.param, weights: files.weights), threads: 1)
        let geometry = TilingGeometry(scale: 4, prepadding: 10, valid: false, context: 16)
        let small = try TiledInference(executor: executor, geometry: geometry, memoryBudget: 64 << 20).tileSide()
        let large = try TiledInference(executor: executor, geometry: geometry, memoryBudget: 1 << 30).tileSide()
        XCTAssertLessThan(small, large)
        let footprint = try executor.memoryFootprint(inputShape: [1, 3, small + 52, small + 52])
        XCTAssertLessThanOrEqual(footprint, 64 << 20 + (64 << 20) / 5, "a tile at the chosen side fits the budget (within 20%)")
    }

    func testUnknownModelsAndFactorsAreRefused() {
        XCTAssertThrowsError(try NeuralModelVariant.resolve(model: "waifu2x-photo", factor: 3, noise: 0))
        XCTAssertThrowsError(try NeuralModelVariant.resolve(model: "waifu2x-photo", factor: 2, noise: 4))
        XCTAssertThrowsError(try NeuralModelVariant.resolve(model: "nope", factor: 2, noise: nil))
        XCTAssertThrowsError(try ModelStore(root: URL(fileURLWithPath: "/nonexistent")).files(
            for: NeuralModelVariant.resolve(model: "realesr-animevideov3", factor: 2, noise: nil))) {
            XCTAssertTrue("\($0)".contains("reframe models fetch"), "\($0)")
        }
    }
}

/// Binary PPM (P6) fixtures as rgb24 frames.
enum PPM {
    static func load(_ name: String) throws -> VideoFrame {
        guard let url = Bundle.module.url(forResource: name, withExtension: "ppm", subdirectory: "Fixtures") else {
            throw EnhanceError.invalidInput("fixture \(name).ppm missing")
        }
        let data = try Data(contentsOf: url)
        // Header: "P6\n<w> <h>\n255\n" then w·h·3 bytes.
        var fields: [String] = [], index = data.startIndex, current = ""
        while fields.count < 4, index < data.endIndex {
            let b = data[index]
            index += 1
            if b == 0x20 || b == 0x0A { if !current.isEmpty { fields.append(current); current = "" } } else { current.append(Character(UnicodeScalar(b))) }
        }
        guard fields.count == 4, fields[0] == "P6", let w = Int(fields[1]), let h = Int(fields[2]), data.endIndex - index == w * h * 3 else {
            throw EnhanceError.invalidInput("\(name).ppm is not a binary PPM")
        }
        return VideoFrame(width: w, height: h, pixelFormat: "rgb24", data: Array(data[index...]), pts: 0)
    }
}
