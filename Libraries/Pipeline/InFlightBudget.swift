/// The extractor's backpressure rule (DESIGN.md §5): it stores another chunk only while the bytes in
/// flight, weighed by how much they may still grow downstream, fit the budgets. The budgets never
/// exceed half the store's memory limit, so stages after extraction always find room for their
/// (larger) output and a full store cannot stop the whole pipeline.
struct InFlightBudget: Sendable, Equatable {
    /// Bytes one job may hold.
    var job: Int64
    /// Bytes all jobs together may hold.
    var cluster: Int64
    /// `JobPlan.storedBytesGrowth`.
    var growth: Double

    init(settings: StageSettings, storeLimit: Int64?, growth: Double) {
        let cap = storeLimit.map { $0 / 2 } ?? .max
        job = min(settings.jobInFlightBudget, cap)
        cluster = min(settings.clusterInFlightBudget, cap)
        self.growth = max(1, growth)
    }

    func admits(job jobBytes: Int64, cluster clusterBytes: Int64) -> Bool {
        Double(jobBytes) * growth <= Double(job) && Double(clusterBytes) * growth <= Double(cluster)
    }
}
