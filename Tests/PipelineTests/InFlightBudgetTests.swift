@testable import Pipeline
import XCTest

final class InFlightBudgetTests: XCTestCase {
    func testBudgetsStayUnderHalfTheStoreAndWeighGrowth() {
        var settings = StageSettings()
        settings.jobInFlightBudget = 512 << 20
        settings.clusterInFlightBudget = 2 << 30
        let unlimited = InFlightBudget(settings: settings, storeLimit: nil, growth: 1)
        XCTAssertEqual([unlimited.job, unlimited.cluster], [512 << 20, 2 << 30])
        // Redis maxmemory 64 MB: at most 32 MB in flight, whatever the settings say.
        let small = InFlightBudget(settings: settings, storeLimit: 64 << 20, growth: 8)
        XCTAssertEqual([small.job, small.cluster], [32 << 20, 32 << 20])
        // A chunk that grows 8× downstream: 4 MB in flight already fill the 32 MB.
        XCTAssertTrue(small.admits(job: 4 << 20, cluster: 4 << 20))
        XCTAssertFalse(small.admits(job: (4 << 20) + 1, cluster: 4 << 20))
        XCTAssertFalse(small.admits(job: 1, cluster: (4 << 20) + 1), "other jobs' bytes count against the cluster budget")
    }
}
