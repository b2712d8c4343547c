import Foundation
import Logging

/// With `REFRAME_EXIT_WITH_PARENT=1` (set by the test harness), a service ends itself once the
/// process that started it is gone, so a crashed test run leaves no workers consuming its queues.
/// Polled on a thread of its own: a re-parented process sees a different parent pid.
enum ParentWatch {
    static func startIfAsked(logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard environment["REFRAME_EXIT_WITH_PARENT"] == "1" else { return }
        let parent = getppid()
        let thread = Thread {
            while getppid() == parent { Thread.sleep(forTimeInterval: 0.5) }
            logger.critical("the process that started this service (pid \(parent)) is gone; exiting")
            exit(1)
        }
        thread.name = "parent-watch"
        thread.start()
    }
}
