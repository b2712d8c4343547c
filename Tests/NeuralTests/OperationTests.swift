import Foundation
import Neural
import XCTest

final class OperationTests: XCTestCase {
    private func run(_ graph: Graph, _ x: Tensor, threads: Int = 2) throws -> Tensor {
        try Executor(graph: graph, threads: threads).run(x)
    }

    func testConvolutionsMatchReferenceLoop() throws {
        var p = Pattern(seed: 1)
        // Winograd-eligible (32→32, 3×3), a leaky-ReLU one that cannot fuse into Winograd, a small
        // direct one with stride and uneven padding, and a dilated one.
        let cases: [(ic: Int, oc: Int, k: Int, stride: Int, dilation: Int, pad: (Int, Int, Int, Int), act: ActivationFunction?)] = [
            (32, 32, 3, 1, 1, (1, 1, 1, 1), .relu(slope: 0)),
            (32, 16, 3, 1, 1, (0, 0, 0, 0), .relu(slope: 0.1)),
            (3, 5, 3, 2, 1, (1, 0, 2, 1), nil),
            (4, 8, 3, 1, 2, (2, 2, 2, 2), .sigmoid),
        ]
        for c in cases {
            let conv = Convolution(outChannels: c.oc, kernel: (c.k, c.k), stride: (c.stride, c.stride), dilation: (c.dilation, c.dilation),
                                   pad: c.pad, weights: p.values(c.oc * c.ic * c.k * c.k).map { $0 * 0.2 }, bias: p.values(c.oc),
                                   activation: c.act)
            let x = p.tensor([1, c.ic, 13, 17])
            let diff = Reference.maxDifference(try run(singleOperationGraph(conv), x), Reference.convolution(x, conv))
            XCTAssertLessThan(diff, 2e-4, "convolution \(c.ic)→\(c.oc) k\(c.k) s\(c.stride) d\(c.dilation)")
        }
    }

    func testDeconvolutionsMatchScatterLoop() throws {
        var p = Pattern(seed: 2)
        // waifu2x's 4×4 stride-2 pad-3 layer, a 3×3 stride-2 one (36 products: a partial channel block),
        // a stride-1 one and narrow ones (RIFE's 5-channel head) run as products + scatter; kernels that
        // are whole multiples of the stride with ≥ 16 outputs (RIFE's 4×4 stride-2 pad-1 layers, 20
        // outputs: a partial channel block; a non-overlapping 2×2 stride-2 one) as phase convolutions.
        for (k, s, pad, oc, path) in [(4, 2, 3, 3, "scatter"), (3, 2, 1, 4, "scatter"), (3, 1, 1, 5, "scatter"), (4, 2, 1, 5, "scatter"),
                                      (4, 2, 1, 20, "phase"), (2, 2, 0, 16, "phase")] {
            let conv = Convolution(outChannels: oc, kernel: (k, k), stride: (s, s), pad: (pad, pad, pad, pad), transposed: true,
                                   weights: p.values(oc * 8 * k * k).map { $0 * 0.2 }, bias: p.values(oc), activation: .relu(slope: 0.1))
            let x = p.tensor([1, 8, 9, 11])
            let executor = try Executor(graph: singleOperationGraph(conv), threads: 2)
            let diff = Reference.maxDifference(try executor.run(x), Reference.deconvolution(x, conv))
            XCTAssertLessThan(diff, 2e-4, "deconvolution k\(k) s\(s) p\(pad)")
            XCTAssertTrue(try executor.layerImplementations(inputShape: x.shape).contains { $0.contains(path) },
                          "deconvolution k\(k) s\(s) p\(pad) runs as \(path)s, not oneDNN's slow deconvolution")
        }
    }

    /// Real-ESRGAN's tail (conv → PixelShuffle, plus the nearest-enlarged input) runs as one fused
    /// pass; checked with the convolution's output blocked (as oneDNN leaves it) and plain.
    func testPixelShuffleAddFusionMatchesUnfusedLoops() throws {
        var p = Pattern(seed: 7)
        for (r, blockedSource) in [(4, true), (2, false)] {
            let x = p.tensor([1, 3, 5, 7])
            let conv = Convolution(outChannels: 3 * r * r, kernel: (3, 3), pad: (1, 1, 1, 1), weights: p.values(3 * r * r * 27).map { $0 * 0.2 },
                                   bias: p.values(3 * r * r), activation: nil)
            // The plain variant shuffles a clipped 3·r²-channel input (elementwise ops keep it plain) and enlarges its first three channels.
            let source: any Operator = blockedSource ? conv : ActivationLayer(.clip(min: -0.5, max: 0.5))
            let input = blockedSource ? x : p.tensor([1, 3 * r * r, 5, 7])
            let skipSource = blockedSource ? 0 : 5
            var values = ["in", "features", "shuffled", "skip", "out"]
            var nodes = [Node(name: "source", operation: source, inputs: [0], outputs: [1]),
                         Node(name: "shuffle", operation: PixelShuffle(factor: r), inputs: [1], outputs: [2])]
            if !blockedSource {
                values.append("first3")
                nodes.append(Node(name: "first3", operation: Crop(start: (0, 0, 0), end: (3, Int.max, Int.max)), inputs: [0], outputs: [5]))
            }
            nodes += [Node(name: "enlarge", operation: Interpolation(mode: .nearest, scale: (Float(r), Float(r))),
                           inputs: [skipSource], outputs: [3]),
                      Node(name: "tail", operation: BinaryOp(.add), inputs: [3, 2], outputs: [4])]
            let executor = try Executor(graph: Graph(name: "tail", valueNames: values, inputs: [0], outputs: [4], nodes: nodes), threads: 2)
            let y = try executor.run(input)

            let features: Tensor
            if blockedSource { features = Reference.convolution(input, conv) } else {
                features = Tensor(shape: input.shape, data: input.data.map { min(max($0, -0.5), 0.5) })
            }
            var expected = Tensor(zeros: [1, 3, 5 * r, 7 * r])
            for q in 0..<3 {
                for oy in 0..<(5 * r) {
                    for ox in 0..<(7 * r) {
                        expected[0, q, oy, ox] = features[0, q * r * r + (oy % r) * r + ox % r, oy / r, ox / r] + input[0, q, oy / r, ox / r]
                    }
                }
            }
            XCTAssertLessThan(Reference.maxDifference(y, expected), 2e-5, "r=\(r)")
            let layers = try executor.layerImplementations(inputShape: input.shape)
            XCTAssertTrue(layers.contains { $0.contains("pixel-shuffle-add host (\(blockedSource ? "blocked" : "plain")") }, "\(layers)")
        }
    }

    func testPReLUAndActivations() throws {
        var p = Pattern(seed: 3)
        let x = p.tensor([1, 20, 7, 9])
        let slopes = p.values(20)
        let y = try run(singleOperationGraph(PReLU(slopes: slopes)), x)
        var expected = x
        for c in 0..<20 { for i in 0..<63 { let v = x.data[c * 63 + i]; expected.data[c * 63 + i] = v > 0 ? v : v * slopes[c] } }
        XCTAssertLessThan(Reference.maxDifference(y, expected), 1e-6)
        let s = try run(singleOperationGraph(ActivationLayer(.sigmoid)), x)
        XCTAssertLessThan(Reference.maxDifference(s, Tensor(shape: x.shape, data: x.data.map { 1 / (1 + exp(-$0)) })), 1e-5)
        let scalar = try run(singleOperationGraph(BinaryOp(.reverseSub, scalar: 2)), x)
        XCTAssertLessThan(Reference.maxDifference(scalar, Tensor(shape: x.shape, data: x.data.map { 2 - $0 })), 1e-6)
    }

    func testInterpolationModes() throws {
        var p = Pattern(seed: 4)
        let x = p.tensor([1, 2, 6, 7])
        // Nearest ×4 (Real-ESRGAN's skip path): each output takes floor(i / 4).
        let nearest = try run(singleOperationGraph(Interpolation(mode: .nearest, scale: (4, 4))), x)
        XCTAssertEqual(nearest.shape, [1, 2, 24, 28])
        for c in 0..<2 { for yy in 0..<24 { for xx in 0..<28 { XCTAssertEqual(nearest[0, c, yy, xx], x[0, c, yy / 4, xx / 4]) } } }
        // Bilinear ×2, half-pixel: an interior output is the mean-weighted blend of its two neighbours.
        let bilinear = try run(singleOperationGraph(Interpolation(mode: .bilinear, scale: (2, 2))), x)
        XCTAssertEqual(bilinear.shape, [1, 2, 12, 14])
        let expected = 0.75 * (0.75 * x[0, 1, 2, 3] + 0.25 * x[0, 1, 2, 4]) + 0.25 * (0.75 * x[0, 1, 3, 3] + 0.25 * x[0, 1, 3, 4])
        XCTAssertEqual(bilinear[0, 1, 5, 7], expected, accuracy: 1e-5)
        XCTAssertEqual(bilinear[0, 0, 0, 0], x[0, 0, 0, 0], accuracy: 1e-6, "edges clamp")
        // Bicubic up and down (the ×2/×3 Real-ESRGAN graphs downscale their ×4 output by 0.5 / 0.75).
        for (scale, size) in [(Float(0.5), (3, 3)), (2, (12, 14)), (0.75, (4, 5))] {
            let y = try run(singleOperationGraph(Interpolation(mode: .bicubic, scale: (scale, scale))), x)
            XCTAssertEqual(y.shape, [1, 2, size.0, size.1])
            if y.shape[2] >= 1 && x.shape[2] >= 4 {
                XCTAssertLessThan(Reference.maxDifference(y, Reference.bicubic(x, outH: size.0, outW: size.1)), 1e-5, "bicubic ×\(scale)")
            }
        }
    }

    func testPixelShuffleCropPaddingConcat() throws {
        var p = Pattern(seed: 5)
        let x = p.tensor([1, 8, 3, 4])
        let shuffled = try run(singleOperationGraph(PixelShuffle(factor: 2)), x)
        XCTAssertEqual(shuffled.shape, [1, 2, 6, 8])
        for c in 0..<2 { for i in 0..<2 { for j in 0..<2 { for yy in 0..<3 { for xx in 0..<4 {
            XCTAssertEqual(shuffled[0, c, yy * 2 + i, xx * 2 + j], x[0, c * 4 + i * 2 + j, yy, xx])
        } } } } }

        let padded = try run(singleOperationGraph(Padding(top: 2, bottom: 1, left: 2, right: 3, mode: .reflect)), x)
        XCTAssertEqual(padded.shape, [1, 8, 6, 9])
        XCTAssertEqual(padded[0, 3, 0, 0], x[0, 3, 2, 2], "reflect mirrors without repeating the edge")
        XCTAssertEqual(padded[0, 3, 5, 8], x[0, 3, 1, 0], "row 3 → 1, column 6 → 0")
        let constant = try run(singleOperationGraph(Padding(top: 1, bottom: 0, left: 0, right: 0, mode: .constant(7))), x)
        XCTAssertEqual(constant[0, 0, 0, 2], 7)

        // Split the channels in two with crops, then add, multiply (eltwise) and concatenate them back.
        var g = Graph(name: "t", valueNames: ["in", "a", "b", "sum", "prod", "cat"], inputs: [0], outputs: [5], nodes: [])
        g.nodes = [
            Node(name: "a", operation: Crop(start: (0, 0, 0), end: (4, .max, .max)), inputs: [0], outputs: [1]),
            Node(name: "b", operation: Crop(start: (4, 0, 0), end: (.max, .max, .max)), inputs: [0], outputs: [2]),
            Node(name: "sum", operation: Eltwise(.sum, coefficients: [0.2, 1]), inputs: [1, 2], outputs: [3]),
            Node(name: "prod", operation: BinaryOp(.mul), inputs: [1, 2], outputs: [4]),
            Node(name: "cat", operation: Concat(axis: 1), inputs: [3, 4], outputs: [5]),
        ]
        let y = try run(g, x)
        XCTAssertEqual(y.shape, [1, 8, 3, 4])
        for c in 0..<4 { for yy in 0..<3 { for xx in 0..<4 {
            XCTAssertEqual(y[0, c, yy, xx], 0.2 * x[0, c, yy, xx] + x[0, c + 4, yy, xx], accuracy: 1e-6)
            XCTAssertEqual(y[0, c + 4, yy, xx], x[0, c, yy, xx] * x[0, c + 4, yy, xx], accuracy: 1e-6)
        } } }
    }

    func testShapeErrorsAreReported() throws {
        let bad = Convolution(outChannels: 4, kernel: (3, 3), pad: (0, 0, 0, 0), weights: [Float](repeating: 0, count: 4 * 5 * 9), bias: nil, activation: nil)
        XCTAssertThrowsError(try run(singleOperationGraph(bad), Tensor(zeros: [1, 3, 8, 8]))) { error in
            XCTAssertTrue("\(error)".contains("layer 'op'"), "\(error)")
        }
    }

    func testPlansAreCachedPerShapeAndThreadCountDoesNotChangeResults() throws {
        var p = Pattern(seed: 6)
        let conv = Convolution(outChannels: 32, kernel: (3, 3), pad: (1, 1, 1, 1), weights: p.values(32 * 32 * 9), bias: nil, activation: nil)
        let graph = singleOperationGraph(conv)
        let e1 = try Executor(graph: graph, threads: 1), e2 = try Executor(graph: graph, threads: 2)
        for shape in [[1, 32, 10, 12], [1, 32, 20, 9], [1, 32, 10, 12]] {
            let x = p.tensor(shape)
            XCTAssertLessThan(Reference.maxDifference(try e1.run(x), try e2.run(x)), 1e-5)
        }
        XCTAssertTrue(try e1.layerImplementations(inputShape: [1, 32, 10, 12]).contains { $0.contains("wino") },
                      "3×3 32→32 layers should use Winograd")
        let narrow = Convolution(outChannels: 32, kernel: (3, 3), pad: (1, 1, 1, 1), weights: p.values(32 * 16 * 9), bias: nil, activation: nil)
        XCTAssertFalse(try Executor(graph: singleOperationGraph(narrow), threads: 1)
            .layerImplementations(inputShape: [1, 16, 10, 12]).contains { $0.contains("wino") },
                       "16-channel inputs run faster as direct convolutions")
    }
}
