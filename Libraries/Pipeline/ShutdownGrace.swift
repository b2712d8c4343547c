import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Bounds a graceful shutdown (SIGTERM/SIGINT). Workers finish the message in hand, but one that
/// waits on a stalled dependency (Redis frozen, a broker link gone silent) must not keep the process
/// alive until a supervisor's SIGKILL. After `grace` seconds the process exits; what it held was
/// never acked, so the broker redelivers it to another worker.
///
/// Listed last in the service group, so it is the first one told to shut down (the group goes in
/// reverse); it returns at once and leaves a timer on a thread of its own, which a stalled
/// cooperative pool cannot delay.
struct ShutdownGrace: Service {
    let grace: Double
    let inHand: WorkInHand
    let logger: Logger

    func run() async throws {
        do { try await gracefulShutdown() } catch { return }
        let (grace, inHand, logger) = (grace, inHand, logger)
        logger.notice("shutting down: finishing the work in hand", metadata: [
            "in_hand": "\(inHand.count)", "grace_s": "\(grace)"])
        let timer = Thread {
            Thread.sleep(forTimeInterval: grace)
            logger.error("shutdown grace is over with work still in hand (a dependency does not answer); exiting without finishing it, the broker redelivers what was not acked", metadata: [
                "in_hand": "\(inHand.count)", "grace_s": "\(grace)"])
            exit(1)
        }
        timer.name = "shutdown-grace"
        timer.start()
    }
}

/// How many messages this process's workers hold (taken, not yet settled), for the shutdown log.
public final class WorkInHand: Sendable {
    private let held = Atomic<Int>(0)

    public init() {}

    public var count: Int { held.load(ordering: .relaxed) }
    func take() { held.add(1, ordering: .relaxed) }
    func settle() { held.subtract(1, ordering: .relaxed) }
}
