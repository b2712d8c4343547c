import Core
import Enhance
import Neural
import OneDNN
import XCTest

/// Model and runtime errors say whether a retry can help, so a missing model file fails its chunk
/// at once instead of using up the delivery limit.
final class ModelErrorFaultTests: XCTestCase {
    func testModelAndRuntimeErrorsClassifyThemselves() {
        let permanent: [any Error] = [
            EnhanceError.modelMissing("flownet.pkl"), EnhanceError.unknownModel("x"), EnhanceError.invalidInput("size"),
            NeuralError.missingFile("x.param"), NeuralError.unsafeCheckpoint("os.system"), NeuralError.shapeMismatch("x"),
            OneDNNError.call("create convolution", status: "invalid arguments"), OneDNNError.unimplemented("grouped deconvolution"),
        ]
        for e in permanent {
            XCTAssertTrue(Fault.isClassified(e), "\(e)")
            XCTAssertFalse(Fault.isTransient(e), "\(e) is permanent")
        }
        XCTAssertTrue(Fault.isTransient(OneDNNError.call("execute", status: "out of memory")), "memory may free up")
    }
}
