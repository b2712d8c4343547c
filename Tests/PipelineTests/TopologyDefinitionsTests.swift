import Foundation
import Messaging
import XCTest

/// compose/definitions.json must say what the services declare.
final class TopologyDefinitionsTests: XCTestCase {
    func testDefinitionsFileMatchesTheDeclaredTopology() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("compose/definitions.json"))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let topology = RabbitBus.topology(QueueNames(), deliveryLimit: 5)
        let queues = (json["queues"] as! [[String: Any]]).map { $0["name"] as! String }
        XCTAssertEqual(Set(queues), Set(topology.queues.map(\.name)))
        for q in json["queues"] as! [[String: Any]] {
            let args = q["arguments"] as! [String: Any]
            let declared = topology.queues.first { $0.name == q["name"] as! String }!
            XCTAssertEqual(args["x-queue-type"] as? String, "quorum")
            XCTAssertEqual(args["x-dead-letter-exchange"] as? String, declared.deadLetterExchange)
            XCTAssertEqual(args["x-delivery-limit"] as? Int, declared.xDeliveryLimit)
        }
        let bindings = (json["bindings"] as! [[String: Any]]).map { "\($0["source"]!)→\($0["destination"]!):\($0["routing_key"]!)" }
        XCTAssertEqual(Set(bindings), Set(topology.bindings.map { "\($0.exchange)→\($0.queue):\($0.routingKey)" }))
    }
}
