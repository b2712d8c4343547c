import Foundation
import Neural
import XCTest

/// RIFE's two host operations, `.warp` and `.maskedBlend`, against loops written straight from
/// PyTorch's definitions, and a graph with several inputs and outputs run through `Executor.run([Tensor])`.
final class WarpTests: XCTestCase {
    func testZeroFlowIsIdentity() throws {
        var p = Pattern(seed: 11)
        let image = p.tensor([1, 3, 7, 9])
        let y = try warp(image, Tensor(zeros: [1, 2, 7, 9]))
        XCTAssertEqual(y.data, image.data, "zero flow must copy the image exactly")
    }

    func testSubPixelFlowsMatchGridSample() throws {
        var p = Pattern(seed: 12)
        // Odd sizes, 1 and 3 channels, a batch of two (each image with its own flow), several thread counts.
        for (shape, threads) in [([1, 1, 7, 9], 1), ([2, 3, 13, 5], 3), ([1, 3, 3, 3], 2), ([1, 1, 2, 11], 2)] {
            let image = p.tensor(shape)
            var flow = p.tensor([shape[0], 2, shape[2], shape[3]])
            flow.data = flow.data.map { $0 * 1.7 }  // within ±1.7 px: mostly interior, fractional taps
            let y = try warp(image, flow, threads: threads)
            XCTAssertLessThan(Reference.maxDifference(y, Reference.gridSample(image, flow, flowChannel: 0)), 1e-5, "shape \(shape), \(threads) threads")
        }
    }

    /// Flows that leave the image on every side sample its border, as `padding_mode="border"` does:
    /// checked against the loop and, independently, against the edge row or column itself.
    func testFlowsFarOutsideClampToTheBorder() throws {
        var p = Pattern(seed: 13)
        let (h, w) = (5, 7)
        let image = p.tensor([1, 3, h, w])
        let far: [(u: Float, v: Float, edge: (x: Int?, y: Int?))] = [
            (-20, 0, (0, nil)), (20, 0, (w - 1, nil)), (0, -20, (nil, 0)), (0, 20, (nil, h - 1)),
            (-1e30, 1e30, (0, h - 1)), (.infinity, -.infinity, (w - 1, 0)), (Float(w), Float(h), (w - 1, h - 1)),
        ]
        for f in far {
            var flow = Tensor(zeros: [1, 2, h, w])
            for i in 0..<(h * w) { (flow.data[i], flow.data[h * w + i]) = (f.u, f.v) }
            let y = try warp(image, flow)
            XCTAssertLessThan(Reference.maxDifference(y, Reference.gridSample(image, flow, flowChannel: 0)), 1e-6, "flow (\(f.u), \(f.v))")
            for c in 0..<3 {
                for yy in 0..<h {
                    for xx in 0..<w {
                        XCTAssertEqual(y[0, c, yy, xx], image[0, c, f.edge.y ?? yy, f.edge.x ?? xx], "flow (\(f.u), \(f.v)) at c\(c) y\(yy) x\(xx)")
                    }
                }
            }
        }
        // Mixed: each pixel its own large flow, some landing exactly on the last row or column.
        var flow = p.tensor([1, 2, h, w])
        flow.data = flow.data.enumerated().map { i, v in i % 5 == 0 ? (i < h * w ? Float(w - 1 - i % w) : Float(h - 1 - (i - h * w) / w)) : v * 12 }
        XCTAssertLessThan(Reference.maxDifference(try warp(image, flow), Reference.gridSample(image, flow, flowChannel: 0)), 1e-5, "mixed far flows")
    }

    /// A NaN in the flow (a diverged network) must not crash: PyTorch's border clamp sends a NaN
    /// coordinate to 0, and so must the kernel.
    func testNaNFlowSamplesLikePyTorch() throws {
        var p = Pattern(seed: 14)
        let image = p.tensor([1, 2, 5, 5])
        var flow = Tensor(zeros: [1, 2, 5, 5])
        flow[0, 0, 2, 2] = .nan  // u: column 0 of row 2
        flow[0, 1, 1, 1] = .nan  // v: row 0 of column 1
        flow[0, 0, 3, 3] = .nan; flow[0, 1, 3, 3] = .nan  // both: the top-left pixel
        let y = try warp(image, flow)
        XCTAssertEqual(y[0, 1, 2, 2], image[0, 1, 2, 0])
        XCTAssertEqual(y[0, 1, 1, 1], image[0, 1, 0, 1])
        XCTAssertEqual(y[0, 1, 3, 3], image[0, 1, 0, 0])
        XCTAssertLessThan(Reference.maxDifference(y, Reference.gridSample(image, flow, flowChannel: 0)), 1e-6)
    }

    /// The flow is channels k, k+1 of a wider tensor (RIFE's flow tensor carries both directions);
    /// the other channels hold huge values, so reading the wrong ones would show.
    func testFlowIsReadFromItsChannels() throws {
        var p = Pattern(seed: 15)
        for (k, channels) in [(0, 5), (2, 5), (3, 5), (1, 3)] {
            let image = p.tensor([2, 3, 9, 7])
            var flow = Tensor(shape: [2, channels, 9, 7], data: [Float](repeating: 1000, count: 2 * channels * 63))
            for n in 0..<2 { for c in k..<(k + 2) { for i in 0..<63 { flow.data[(n * channels + c) * 63 + i] = p.next() * 2.5 } } }
            let y = try warp(image, flow, flowChannel: k)
            XCTAssertLessThan(Reference.maxDifference(y, Reference.gridSample(image, flow, flowChannel: k)), 1e-5, "flow channels \(k), \(k + 1) of \(channels)")
        }
    }

    func testWarpRejectsAFlowWithTooFewChannels() throws {
        let graph = operationGraph(Warp(flowChannel: 2), inputs: 2)
        XCTAssertThrowsError(try Executor(graph: graph, threads: 1).run([Tensor(zeros: [1, 3, 4, 4]), Tensor(zeros: [1, 3, 4, 4])])) { error in
            guard case NeuralError.shapeMismatch = error else { return XCTFail("got \(error)") }
        }
    }

    func testMaskedBlendMatchesLoop() throws {
        var p = Pattern(seed: 16)
        for (shape, k, maskChannels) in [([1, 3, 7, 9], 0, 1), ([2, 3, 5, 3], 1, 3), ([1, 1, 4, 6], 4, 5)] {
            let a = p.tensor(shape), b = p.tensor(shape)
            var mask = Tensor(shape: [shape[0], maskChannels, shape[2], shape[3]], data: [Float](repeating: 1000, count: shape[0] * maskChannels * shape[2] * shape[3]))
            let plane = shape[2] * shape[3]
            for n in 0..<shape[0] {
                for i in 0..<plane {
                    // Mostly moderate logits, some saturating either way (σ → 0 or 1 without NaN).
                    mask.data[(n * maskChannels + k) * plane + i] = i % 7 == 0 ? (i % 2 == 0 ? 90 : -90) : p.next() * 6
                }
            }
            let y = try Executor(graph: operationGraph(MaskedBlend(maskChannel: k), inputs: 3), threads: 2).run([a, b, mask])[0]
            XCTAssertLessThan(Reference.maxDifference(y, Reference.maskedBlend(a, b, mask, maskChannel: k)), 1e-6, "shape \(shape), mask channel \(k) of \(maskChannels)")
        }
    }

    /// Two inputs, two outputs: `warped` is both an output and the blend's input, and the outputs
    /// are listed in the opposite order to the nodes, so both buffers and their order are checked.
    func testGraphWithTwoInputsAndTwoOutputs() throws {
        var p = Pattern(seed: 17)
        let (h, w) = (11, 13)
        let image = p.tensor([1, 3, h, w])
        var motion = p.tensor([1, 3, h, w])  // channels: u, v, mask logit
        for i in 0..<(2 * h * w) { motion.data[i] *= 3 }
        let graph = Graph(name: "warp-blend", valueNames: ["image", "motion", "warped", "blended"], inputs: [0, 1], outputs: [3, 2], nodes: [
            Node(name: "warped", operation: Warp(flowChannel: 0), inputs: [0, 1], outputs: [2]),
            Node(name: "blended", operation: MaskedBlend(maskChannel: 2), inputs: [2, 0, 1], outputs: [3]),
        ])
        let executor = try Executor(graph: graph, threads: 2)
        let warped = Reference.gridSample(image, motion, flowChannel: 0)
        let blended = Reference.maskedBlend(warped, image, motion, maskChannel: 2)
        for run in 0..<2 {  // the second run reuses the cached plan and arena
            let outputs = try executor.run([image, motion])
            XCTAssertEqual(outputs.count, 2)
            XCTAssertEqual(outputs.map(\.shape), [[1, 3, h, w], [1, 3, h, w]])
            XCTAssertLessThan(Reference.maxDifference(outputs[0], blended), 1e-5, "output 0 (blended), run \(run)")
            XCTAssertLessThan(Reference.maxDifference(outputs[1], warped), 1e-5, "output 1 (warped), run \(run)")
        }
    }

    // MARK: helpers

    private func warp(_ image: Tensor, _ flow: Tensor, flowChannel: Int = 0, threads: Int = 2) throws -> Tensor {
        try Executor(graph: operationGraph(Warp(flowChannel: flowChannel), inputs: 2), threads: threads).run([image, flow])[0]
    }

    private func operationGraph(_ op: any Operator, inputs: Int) -> Graph {
        Graph(name: "test", valueNames: (0..<inputs).map { "in\($0)" } + ["out"], inputs: Array(0..<inputs), outputs: [inputs],
              nodes: [Node(name: "op", operation: op, inputs: Array(0..<inputs), outputs: [inputs])])
    }
}

extension Reference {
    /// `F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)` with
    /// the grid RIFE's warplayer.py builds: `linspace(-1, 1)` plus the flow divided by `(size − 1) / 2`.
    /// Written from ATen's grid_sampler_2d: unnormalise, clip (NaN → 0), then sum the four taps
    /// that are within bounds.
    static func gridSample(_ image: Tensor, _ flow: Tensor, flowChannel k: Int) -> Tensor {
        let (n, c, h, w) = (image.shape[0], image.shape[1], image.shape[2], image.shape[3])
        // grid_sampler_compute_source_index with align_corners=True and padding_mode=border.
        func source(_ g: Double, _ size: Int) -> Double {
            let unnormalised = (g + 1) / 2 * Double(size - 1)
            return unnormalised.isNaN ? 0 : min(Double(size - 1), max(unnormalised, 0))
        }
        var out = Tensor(zeros: image.shape)
        for b in 0..<n {
            for y in 0..<h {
                for x in 0..<w {
                    let gx = (-1 + 2 * Double(x) / Double(w - 1)) + Double(flow[b, k, y, x]) / (Double(w - 1) / 2)
                    let gy = (-1 + 2 * Double(y) / Double(h - 1)) + Double(flow[b, k + 1, y, x]) / (Double(h - 1) / 2)
                    let (ix, iy) = (source(gx, w), source(gy, h))
                    let (x0, y0) = (Int(ix.rounded(.down)), Int(iy.rounded(.down)))
                    let (tx, ty) = (ix - Double(x0), iy - Double(y0))
                    for ch in 0..<c {
                        var v = 0.0
                        for (sy, wy) in [(y0, 1 - ty), (y0 + 1, ty)] {
                            for (sx, wx) in [(x0, 1 - tx), (x0 + 1, tx)] where sx >= 0 && sx < w && sy >= 0 && sy < h {
                                v += wx * wy * Double(image[b, ch, sy, sx])
                            }
                        }
                        out[b, ch, y, x] = Float(v)
                    }
                }
            }
        }
        return out
    }

    /// a·σ(m) + b·(1 − σ(m)), m = channel `maskChannel` of `mask`, broadcast over the image channels.
    static func maskedBlend(_ a: Tensor, _ b: Tensor, _ mask: Tensor, maskChannel k: Int) -> Tensor {
        var out = a
        for n in 0..<a.shape[0] {
            for c in 0..<a.shape[1] {
                for y in 0..<a.shape[2] {
                    for x in 0..<a.shape[3] {
                        let s = 1 / (1 + exp(-Double(mask[n, k, y, x])))
                        out[n, c, y, x] = Float(Double(a[n, c, y, x]) * s + Double(b[n, c, y, x]) * (1 - s))
                    }
                }
            }
        }
        return out
    }
}
