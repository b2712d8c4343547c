import Foundation
import Logging

/// A test-only delay: with `REFRAME_TEST_HOLD_SECONDS=<s>`, a worker holds every message it takes
/// that long before handling it, so a fault test (a cut network link) can strike while the worker
/// has a chunk in hand. It logs the chunk it holds, which the test waits for.
enum TestHold {
    static let seconds: Double? = ProcessInfo.processInfo.environment["REFRAME_TEST_HOLD_SECONDS"].flatMap(Double.init)

    static func pause(logger: Logger) async {
        guard let seconds, seconds > 0 else { return }
        logger.notice("REFRAME_TEST_HOLD: holding the message", metadata: ["seconds": "\(seconds)"])
        try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
    }
}
