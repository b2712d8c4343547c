/// When to SIGKILL which service: `target` kills of random services at random moments, spread
/// over the first part of the job (its length estimated from its progress so far), so the job
/// still has work in hand at every kill and then finishes without faults.
struct KillStorm {
    let target: Int
    private(set) var sent = 0
    private var rng: SeededGenerator
    /// Seconds since the job was submitted at which the next kill is due.
    private var nextAt: Double

    /// Share of the estimated job time the kills are spread over.
    static let window = 0.6
    /// Fewer seconds than this between kills only restart services, without them doing any work.
    static let minimumGap = 0.3
    /// The gap before the job's length can be estimated.
    static let initialGap = 1.0

    init(target: Int, seed: UInt64) {
        self.target = target
        rng = SeededGenerator(seed: seed)
        nextAt = 0
        nextAt = gap(mean: Self.initialGap)
    }

    var finished: Bool { sent >= target }

    func isDue(elapsed: Double) -> Bool { !finished && elapsed >= nextAt }

    /// The service to kill now; schedules the next kill from the job's `progress` (0…1).
    mutating func strike(among services: [String], elapsed: Double, progress: Double) -> String {
        let victim = services.randomElement(using: &rng)!
        sent += 1
        let left = Double(max(target - sent, 1))
        // Until a few percent are done, the job's length is unknown: kill at the initial pace.
        let mean = progress > 0.05 ? (Self.window * elapsed / progress - elapsed) / left : Self.initialGap
        nextAt = elapsed + gap(mean: max(Self.minimumGap, mean))
        return victim
    }

    /// A random gap around `mean` (a quarter to 1¾ of it).
    private mutating func gap(mean: Double) -> Double { mean * Double.random(in: 0.25...1.75, using: &rng) }
}
