import Core
import Messaging

/// A delivery of `message` as a stage worker receives it, first try, whose settlement is ignored.
func testDelivery(_ message: StageMessage) throws -> BusDelivery {
    BusDelivery(body: Array(try message.encoded()), queue: "q", previousDeliveries: 0, headers: [:]) { _ in }
}
