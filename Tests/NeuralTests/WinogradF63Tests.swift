import Neural
import NeuralKernels
import OneDNN
import XCTest

/// The host F(6,3) Winograd convolution against the plain loop, through the executor (padding,
/// fused activations and PReLU, thread counts) and directly (blocks, batches, streaming stores).
/// Executor tests run on every CPU and check that F(6,3) is chosen exactly where AVX-512 exists.
final class WinogradF63Tests: XCTestCase {
    private func implementations(_ executor: Executor, _ shape: [Int]) throws -> [String] {
        try executor.layerImplementations(inputShape: shape)
    }

    func testConvolutionsMatchReferenceLoop() throws {
        var p = Pattern(seed: 11)
        // Padding on all sides and none; sizes that are not multiples of the 6×6 output tile; more
        // tiles than one block holds (64→64 takes 24 tiles per block; 26×31 has 30); RIFE's 90→90
        // (channels padded to 96 in the blocked layout; the last GEMM group is half padding) and 45→80.
        let cases: [(ic: Int, oc: Int, h: Int, w: Int, pad: (Int, Int, Int, Int), act: ActivationFunction?)] = [
            (32, 64, 26, 31, (1, 1, 1, 1), nil),
            (64, 64, 13, 8, (1, 1, 1, 1), .relu(slope: 0)),
            (48, 128, 9, 20, (0, 0, 0, 0), .relu(slope: 0.1)),
            (32, 64, 7, 7, (2, 0, 1, 2), .relu(slope: 0.2)),
            (90, 90, 12, 19, (1, 1, 1, 1), .relu(slope: 0.25)),
            (45, 80, 10, 9, (1, 1, 1, 1), nil),
        ]
        for c in cases {
            let conv = Convolution(outChannels: c.oc, kernel: (3, 3), pad: c.pad, weights: p.values(c.oc * c.ic * 9).map { $0 * 0.1 },
                                   bias: p.values(c.oc), activation: c.act)
            let x = p.tensor([1, c.ic, c.h, c.w])
            let executor = try Executor(graph: singleOperationGraph(conv), threads: 2)
            // The kernel is built for AVX-512: chosen exactly where the CPU has it, and the numbers agree either way.
            XCTAssertEqual(try implementations(executor, x.shape).contains { $0.contains("winograd_f63") }, ComputeEngine.hasAVX512,
                           "\(c.ic)→\(c.oc) uses F(6,3) exactly when AVX-512 is available")
            let diff = Reference.maxDifference(try executor.run(x), Reference.convolution(x, conv))
            XCTAssertLessThan(diff, 2e-4, "F(6,3) \(c.ic)→\(c.oc) \(c.h)×\(c.w) pad \(c.pad)")
        }
    }

    /// Conv → PReLU folds into one step when the PReLU is the only reader, and stays two steps
    /// (same numbers) when the convolution's output is also read elsewhere.
    func testPReLUFoldsIntoTheConvolutionOnlyWhenItIsTheSoleReader() throws {
        var p = Pattern(seed: 12)
        let conv = Convolution(outChannels: 64, kernel: (3, 3), pad: (1, 1, 1, 1), weights: p.values(64 * 32 * 9).map { $0 * 0.1 },
                               bias: p.values(64), activation: nil)
        let slopes = p.values(64).map { $0 * 0.5 }
        let x = p.tensor([1, 32, 11, 14])
        var expected = Reference.convolution(x, conv)
        let plain = expected
        for i in expected.data.indices where expected.data[i] < 0 { expected.data[i] *= slopes[i / (11 * 14)] }

        let chain = Graph(name: "chain", valueNames: ["in", "conv", "out"], inputs: [0], outputs: [2], nodes: [
            Node(name: "c", operation: conv, inputs: [0], outputs: [1]),
            Node(name: "p", operation: PReLU(slopes: slopes), inputs: [1], outputs: [2]),
        ])
        let fused = try Executor(graph: chain, threads: 2)
        XCTAssertLessThan(Reference.maxDifference(try fused.run(x), expected), 2e-4)
        if ComputeEngine.hasAVX512 {
            XCTAssertEqual(try implementations(fused, x.shape), ["c: convolution winograd_f63 host + p"])
        } else {
            XCTAssertTrue(try implementations(fused, x.shape).contains { $0.hasPrefix("p: prelu") }, "without F(6,3) the PReLU runs on oneDNN")
        }

        // out = conv + prelu(conv): the convolution's output has two readers.
        let branch = Graph(name: "branch", valueNames: ["in", "conv", "act", "out"], inputs: [0], outputs: [3], nodes: [
            Node(name: "c", operation: conv, inputs: [0], outputs: [1]),
            Node(name: "p", operation: PReLU(slopes: slopes), inputs: [1], outputs: [2]),
            Node(name: "a", operation: BinaryOp(.add), inputs: [1, 2], outputs: [3]),
        ])
        let unfused = try Executor(graph: branch, threads: 2)
        let sum = Tensor(shape: plain.shape, data: zip(plain.data, expected.data).map { $0 + $1 })
        XCTAssertLessThan(Reference.maxDifference(try unfused.run(x), sum), 4e-4)
        XCTAssertTrue(try implementations(unfused, x.shape).contains { $0.hasPrefix("p: prelu") }, "a shared output keeps its own PReLU")
    }

    /// Directly on nChw16c buffers: one and two threads, two images, and streaming stores all give
    /// the same result as the executor's single-image run.
    func testKernelIsIndependentOfThreadsBatchAndStoreKind() throws {
        // Calling the AVX-512 module directly on another CPU would fault; the executor tests above
        // cover that case by asserting the kernel is not chosen.
        try XCTSkipUnless(ComputeEngine.hasAVX512, "this CPU has no AVX-512")
        var p = Pattern(seed: 13)
        let (ic, oc, h, w) = (32, 128, 17, 23)
        let conv = WinogradConvolution(weights: p.values(oc * ic * 9).map { $0 * 0.1 }, bias: p.values(oc), inChannels: ic,
                                       outChannels: oc, activation: .prelu(slopes: p.values(oc)))
        let (oh, ow) = WinogradConvolution.outputSize(height: h, width: w, pad: (1, 1, 1, 1))
        let src = UnsafeMutableRawPointer.allocate(byteCount: 2 * ic * h * w * 4, alignment: 64)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: conv.scratchBytes(threads: 2), alignment: 64)
        defer { src.deallocate(); scratch.deallocate() }
        let values = p.values(2 * ic * h * w)
        for (i, v) in values.enumerated() { src.storeBytes(of: v, toByteOffset: i * 4, as: Float.self) }
        func convolve(batch: Int, threads: Int, streaming: Bool) -> [Float] {
            let count = batch * oc * oh * ow
            let dst = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
            defer { dst.deallocate() }
            dst.initializeMemory(as: Float.self, repeating: .nan, count: count)
            conv.run(src: src, batch: batch, height: h, width: w, padTop: 1, padLeft: 1, dst: dst, outHeight: oh, outWidth: ow,
                     scratch: scratch, threads: threads, streaming: streaming)
            return Array(UnsafeBufferPointer(start: dst.assumingMemoryBound(to: Float.self), count: count))
        }
        let one = convolve(batch: 1, threads: 1, streaming: false)
        XCTAssertFalse(one.contains { $0.isNaN }, "every output element is written")
        XCTAssertEqual(convolve(batch: 1, threads: 2, streaming: true), one)
        let two = convolve(batch: 2, threads: 2, streaming: false)
        XCTAssertEqual(Array(two[..<one.count]), one)
        XCTAssertNotEqual(Array(two[one.count...]), one, "the second image has its own input")
        XCTAssertFalse(two.contains { $0.isNaN })
    }
}
