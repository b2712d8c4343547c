import Foundation
@testable import Neural
import XCTest

/// The runtime finds operators by name: what the registry lists plans and imports, what it does
/// not list fails when the plan is built — before any step runs or any output is read.
final class OperatorRegistryTests: XCTestCase {
    /// An operator with a valid shape rule but no registration (as a new op file would be before
    /// its line in `OperatorRegistry`).
    private struct Unregistered: Operator {
        static let typeName = "unregistered-test-op"
        func outputShape(inputs: [[Int]], layer: String) throws -> [Int] { inputs[0] }
    }

    func testUnknownOperatorFailsAtPlanTime() throws {
        let executor = try Executor(graph: singleOperationGraph(Unregistered()), threads: 1)
        XCTAssertThrowsError(try executor.outputShapes(inputShapes: [[1, 3, 4, 4]])) {
            XCTAssertEqual($0 as? NeuralError, .unsupportedLayer(name: "op", type: "unregistered-test-op"))
        }
        // Running is refused the same way, and the input is never handed over to be filled.
        var filled = false
        XCTAssertThrowsError(try executor.run(inputShape: [1, 3, 4, 4], fill: { _ in filled = true }, read: { _, _ in }))
        XCTAssertFalse(filled)
    }

    func testEveryRegisteredOperatorIsFoundByItsNameAndNcnnTypes() {
        XCTAssertEqual(OperatorRegistry.byName.count, OperatorRegistry.all.count, "operator names must be unique")
        let expected: [any Operator.Type] = [Convolution.self, PReLU.self, ActivationLayer.self, BinaryOp.self, Eltwise.self, Interpolation.self,
                                             PixelShuffle.self, Concat.self, Crop.self, Padding.self, PixelShuffleAdd.self, Warp.self, MaskedBlend.self]
        for type in expected { XCTAssertNotNil(OperatorRegistry.byName[type.typeName], type.typeName) }
        for ncnn in ["Convolution", "Deconvolution", "PReLU", "ReLU", "Sigmoid", "Clip", "BinaryOp", "Eltwise", "Interp", "PixelShuffle",
                     "Concat", "Crop", "Padding"] {
            XCTAssertNotNil(OperatorRegistry.byNcnnType[ncnn]?.readNcnn, ncnn)
        }
        // Ops only the runtime itself makes (fusions, RIFE's host ops) have no ncnn form.
        XCTAssertNil(OperatorRegistry.byNcnnType["Warp"])
    }

    func testInputCountsAreCheckedByShapeInference() {
        XCTAssertThrowsError(try Warp(flowChannel: 0).outputShape(inputs: [[1, 3, 4, 4]], layer: "w")) {
            XCTAssertTrue("\($0)".contains("takes 2...2 inputs"), "\($0)")
        }
        XCTAssertThrowsError(try BinaryOp(.add).outputShape(inputs: [[1, 3, 4, 4]], layer: "b"))
        XCTAssertEqual(try BinaryOp(.add, scalar: 2).outputShape(inputs: [[1, 3, 4, 4]], layer: "b"), [1, 3, 4, 4])
    }
}
