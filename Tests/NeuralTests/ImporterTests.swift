import Foundation
import Neural
import XCTest

final class ImporterTests: XCTestCase {
    private func bytes(_ floats: [Float]) -> Data { floats.withUnsafeBytes { Data($0) } }
    private func tag(_ v: UInt32) -> Data { withUnsafeBytes(of: v.littleEndian) { Data($0) } }

    private let param = """
        7767517
        4 4
        Input            in        0 1 data 0=8 1=8 2=2
        Convolution      conv      1 1 data c 0=2 1=1 5=1 6=4 9=2 -23310=1,2.500000e-01
        Split            split     1 2 c c0 c1
        BinaryOp         add       2 1 c0 c1 out 0=0
        """

    func testParsesLayersArraysAndFp32Weights() throws {
        let weights = tag(0) + bytes([1, 2, 3, 4]) + bytes([0.5, -0.5])
        let graph = try NcnnImporter.build(layers: NcnnParamFile.parse(param), weights: weights, name: "t")
        XCTAssertEqual(graph.nodes.count, 2, "Split becomes an alias, not a node")
        guard let c = graph.nodes[0].operation as? Convolution else { return XCTFail("first node is not a convolution") }
        XCTAssertEqual(c.weights, [1, 2, 3, 4])
        XCTAssertEqual(c.bias, [0.5, -0.5])
        XCTAssertEqual(c.activation, .relu(slope: 0.25))
        XCTAssertEqual(graph.nodes[1].inputs, [graph.nodes[0].outputs[0], graph.nodes[0].outputs[0]])
        XCTAssertEqual(graph.valueNames[graph.outputs[0]], "out")
        // And it runs: out = 2·leaky(conv(x)).
        let x = Tensor(shape: [1, 2, 1, 1], data: [1, -1])
        let y = try Executor(graph: graph, threads: 1).run(x)
        // channel 0: 1·1 + 2·(−1) + 0.5 = −0.5 → leaky −0.125 → doubled −0.25; channel 1: 3 − 4 − 0.5 → −0.75.
        XCTAssertEqual(y.data[0], -0.25, accuracy: 1e-6)
        XCTAssertEqual(y.data[1], -0.75, accuracy: 1e-6)
    }

    func testReadsFp16TaggedWeightsWithPadding() throws {
        let halfs: [Float16] = [1, -2, 0.5]
        var raw = Data()
        for h in halfs { raw += withUnsafeBytes(of: h.bitPattern.littleEndian) { Data($0) } }
        raw += Data([0, 0])  // fp16 buffers are padded to 4 bytes
        let text = """
            7767517
            2 2
            Input in 0 1 data
            Convolution conv 1 1 data out 0=1 1=1 5=1 6=3
            """
        let graph = try NcnnImporter.build(layers: NcnnParamFile.parse(text), weights: tag(0x0130_6B47) + raw + bytes([0.25]), name: "t")
        guard let c = graph.nodes[0].operation as? Convolution else { return XCTFail("not a convolution") }
        XCTAssertEqual(c.weights, [1, -2, 0.5])
        XCTAssertEqual(c.bias, [0.25])
    }

    func testRejectsBadFilesClearly() throws {
        XCTAssertThrowsError(try NcnnParamFile.parse("123\n1 1\nInput in 0 1 data")) { XCTAssertTrue("\($0)".contains("7767517")) }
        XCTAssertThrowsError(try NcnnParamFile.parse("7767517\n3 3\nInput in 0 1 data")) { XCTAssertTrue("\($0)".contains("declares 3 layers")) }
        XCTAssertThrowsError(try NcnnParamFile.parse("7767517\n1 1\nInput in 0 1 data -23310=3,1,2")) { XCTAssertTrue("\($0)".contains("count")) }
        let unknown = "7767517\n2 2\nInput in 0 1 data\nYolov3DetectionOutput det 1 1 data out"
        XCTAssertThrowsError(try NcnnImporter.build(layers: NcnnParamFile.parse(unknown), weights: Data(), name: "t")) {
            XCTAssertEqual($0 as? NeuralError, .unsupportedLayer(name: "det", type: "Yolov3DetectionOutput"))
        }
        // Truncated weights, and weights left over, both say what is wrong.
        XCTAssertThrowsError(try NcnnImporter.build(layers: NcnnParamFile.parse(param), weights: tag(0) + bytes([1, 2]), name: "t")) {
            XCTAssertTrue("\($0)".contains("ends early"), "\($0)")
        }
        XCTAssertThrowsError(try NcnnImporter.build(layers: NcnnParamFile.parse(param), weights: tag(0) + bytes([1, 2, 3, 4, 5, 6, 7]), name: "t")) {
            XCTAssertTrue("\($0)".contains("left over"), "\($0)")
        }
        let missing = URL(fileURLWithPath: "/nonexistent/model.param")
        XCTAssertThrowsError(try NcnnImporter.load(param: missing, weights: missing)) { XCTAssertEqual($0 as? NeuralError, .missingFile(missing.path)) }
    }
}
