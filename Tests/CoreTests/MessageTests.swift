import Core
import Foundation
import XCTest

final class MessageTests: XCTestCase {
    let job = "2f1c3c6e-8f0a-4a4e-9a57-0c7b8f3c8a11"

    func testRoundTripAndWireShape() throws {
        let m = StageMessage(jobId: job, stage: .upscale, chunk: ChunkRef(index: 48, firstFrame: 48, frameCount: 48, lookahead: true),
                             input: Keys.chunk(job, stage: .extract, chunk: 48), next: [.interpolate, .encode])
        let data = try m.encoded()
        XCTAssertEqual(try StageMessage.decode(data, expecting: .upscale), m)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        XCTAssertEqual(Set(object.keys), ["version", "jobId", "stage", "chunk", "input", "next", "attempt"])
        XCTAssertEqual(object["input"] as? String, "reframe:frames:\(job):extract:48")
    }

    func testMalformedBodiesAreRejectedWithReason() {
        func reason(_ body: String, _ stage: Stage? = nil) -> String {
            do { _ = try StageMessage.decode(Data(body.utf8), expecting: stage); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertTrue(reason("not json").hasPrefix("malformed message body"))
        XCTAssertEqual(reason(#"{"version":1,"jobId":"x","stage":"extract","segment":0,"next":[],"attempt":1}"#), "jobId 'x' is not a UUID")
        XCTAssertEqual(reason(#"{"version":1,"jobId":"\#(job)","stage":"extract","next":[],"attempt":1}"#), "extract message needs a segment index")
        XCTAssertEqual(reason(#"{"version":1,"jobId":"\#(job)","stage":"extract","segment":0,"next":[],"attempt":1}"#, .encode),
                       "message for stage 'extract' arrived on reframe.encode")
        XCTAssertEqual(reason(#"{"version":1,"jobId":"\#(job)","stage":"encode","chunk":{"index":0,"firstFrame":0,"frameCount":3,"lookahead":false},"input":"reframe:frames:other:x","next":[],"attempt":1}"#),
                       "encode message input must be a frames key of its job")
        XCTAssertEqual(reason(#"{"version":3,"jobId":"\#(job)","stage":"finalize","next":[],"attempt":1}"#), "unsupported message version 3")
    }
}
