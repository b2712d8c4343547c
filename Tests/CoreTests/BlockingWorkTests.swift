import Core
import Foundation
import XCTest

/// Blocking work runs off Swift's cooperative pool: with more blocked jobs than cores, async code
/// (heartbeats, message forwarding, shutdown) still runs at once.
final class BlockingWorkTests: XCTestCase {
    func testBlockedJobsLeaveTheCooperativePoolFree() async throws {
        let jobs = 2 * ProcessInfo.processInfo.activeProcessorCount + 2
        let started = Date()
        let blocked = Task {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<jobs { group.addTask { try await BlockingWork.run { Thread.sleep(forTimeInterval: 1.5); return i } } }
                return try await group.reduce(0, +)
            }
        }
        try await Task.sleep(nanoseconds: 200_000_000)  // every job is now asleep on its thread
        // A chain of small async steps, as a heartbeat or a consumer loop would make.
        let probeStart = Date()
        for _ in 0..<20 { await Task.yield() }
        let answered = try await Task { 42 }.value
        let latency = Date().timeIntervalSince(probeStart)
        XCTAssertEqual(answered, 42)
        XCTAssertLessThan(latency, 0.5, "the cooperative pool answered in \(latency) s while \(jobs) jobs were blocked")
        let total = try await blocked.value
        XCTAssertEqual(total, (0..<jobs).reduce(0, +), "every blocked job finished with its own result")
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5 * Double(jobs), "the jobs ran side by side")
        // Errors come back to the caller.
        struct Boom: Error {}
        do { _ = try await BlockingWork.run { throw Boom() } as Int; XCTFail("no error") } catch { XCTAssertTrue(error is Boom) }
    }
}
