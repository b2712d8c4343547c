import Core
import Foundation
import Store

/// A fault injected while one job runs through a `ServiceCluster` (issue 10).
public enum FaultScenario: Sendable {
    case none
    /// `count` SIGKILLs of random services at random moments (seeded), each service started again
    /// at once, as a supervisor would.
    case kills(count: Int, seed: UInt64)
    /// Redis or the whole RabbitMQ node restarted once the job's first chunk is encoded (every
    /// stage has work then).
    case restart(Dependency)

    public enum Dependency: String, Sendable {
        case redis = "restart-redis"
        case rabbitMQ = "restart-rabbit"
    }

    public var name: String {
        switch self {
        case .none: return "fault-free"
        case .kills: return "kill"
        case .restart(.redis): return "restart-redis"
        case .restart(.rabbitMQ): return "restart-rabbitmq"
        }
    }
}

/// The job a scenario runs: paths under the cluster's media root and `reframe submit` spec flags.
public struct FaultJob: Sendable {
    public var source: String
    public var output: String
    public var flags: [String]

    public init(source: String, output: String, flags: [String]) {
        self.source = source
        self.output = output
        self.flags = flags
    }
}

/// Runs one job under one fault scenario and measures it: faults, how often work came back (from
/// the workers' logs), frames against a fault-free output, keys left in Redis, wall time.
/// The cluster must log to a directory at level `notice` or finer, where the workers count retries.
public final class FaultScenarioRunner {
    let cluster: ServiceCluster
    let jobs: JobStore
    let audit: JobKeyAudit
    /// Environment for `scripts/services.sh` (a tool's own broker and store; empty: the test command's).
    let servicesEnvironment: [String: String]
    /// Seconds a job may take.
    public var timeout: Double = 600
    /// Seconds a done job may take to delete its keys before what is left counts as leaked.
    public var cleanupGrace: Double = 10
    /// Told each fault as it is injected.
    public var onEvent: (String) -> Void = { _ in }

    public init(cluster: ServiceCluster, servicesEnvironment: [String: String] = [:]) throws {
        guard cluster.logDirectory != nil, ["notice", "info", "debug", "trace"].contains(cluster.environment["REFRAME_LOG_LEVEL"] ?? "") else {
            throw ServiceCluster.Failure.notConfigured("fault scenarios count retries in the services' logs: give the cluster a log directory and REFRAME_LOG_LEVEL=notice")
        }
        self.cluster = cluster
        jobs = JobStore(kv: try RedisStore(url: cluster.redisURL, connections: 1, logger: JobKeyAudit.quietLogger))
        audit = try JobKeyAudit(redisURL: cluster.redisURL)
        self.servicesEnvironment = servicesEnvironment
    }

    /// Runs `job` under `scenario`; compares its frames with `reference` when given.
    public func run(_ scenario: FaultScenario, job: FaultJob, reference: String? = nil, faultFreeSeconds: Double? = nil) async throws -> FaultReport {
        let inFlightBefore = try await audit.clusterInFlightBytes()
        let started = Date()
        let cluster = UncheckedSendable(self.cluster)
        let id = try await BlockingWork.run {
            try cluster.value.reframe(["submit", "--source", job.source, "--output", job.output] + job.flags)
        }
        var report = FaultReport(scenario: scenario.name, jobId: id, state: "timeout", chunks: 0, chunksFailed: 0, wallSeconds: 0, faultFreeSeconds: faultFreeSeconds)
        var storm: KillStorm?
        if case .kills(let count, let seed) = scenario {
            storm = KillStorm(target: count, seed: seed)
            report.seed = seed
        }
        var restartDone = false
        var supervisor = Supervisor()
        var counts = JobCounts()
        var segments = 0
        while Date().timeIntervalSince(started) < timeout {
            let restarted = try supervisor.restartEnded(self.cluster)
            report.restarts += restarted.count
            // Polls ride out the store's own restart.
            do {
                guard let record = try await jobs.job(id) else { try await Task.sleep(nanoseconds: 50_000_000); continue }
                counts = try await jobs.counts(id)
                segments = record.plan?.segments.count ?? 0
                if record.state.isFinal {
                    report.state = record.state.rawValue
                    break
                }
            } catch where Fault.isTransient(error) {}
            let elapsed = Date().timeIntervalSince(started)
            if var s = storm, s.isDue(elapsed: elapsed) {
                let victim = s.strike(among: ServiceCluster.services, elapsed: elapsed, progress: Self.progress(counts, segments: segments))
                storm = s
                if self.cluster.signal(victim, SIGKILL) {
                    supervisor.killed(victim)
                    report.kills += 1
                    onEvent(String(format: "%6.1f s  ", elapsed) + "SIGKILL \(victim) (\(s.sent)/\(s.target))")
                }
            }
            if case .restart(let dependency) = scenario, !restartDone, counts.chunksEncoded >= 1 {
                restartDone = true
                let environment = servicesEnvironment
                onEvent(String(format: "%6.1f s  ", elapsed) + dependency.rawValue)
                _ = try await BlockingWork.run { try ServiceCluster.services(dependency.rawValue, environment: environment) }
                report.restarts += 1
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        report.wallSeconds = Date().timeIntervalSince(started)
        report.extraSeconds = faultFreeSeconds.map { report.wallSeconds - $0 }
        report.unexpectedDeaths = supervisor.unexpected
        report.chunks = counts.chunksPlanned
        report.chunksFailed = counts.failures
        try await auditKeys(&report, inFlightBefore: inFlightBefore)
        let figures = WorkerLogFigures(logs: ServiceCluster.services.map(self.cluster.log), jobId: id)
        report.redeliveries = figures.redeliveries
        report.inPlaceRetries = figures.inPlaceRetries
        report.chunksRetried = figures.chunksRetried
        try await compareFrames(&report, output: "\(self.cluster.mediaRoot)/\(job.output)", reference: reference)
        return report
    }

    /// Fraction of the job done: segments extracted and chunks encoded, weighted equally.
    static func progress(_ c: JobCounts, segments: Int) -> Double {
        guard segments > 0 else { return 0 }
        let extracted = Double(c.segmentsExtracted) / Double(segments)
        // Chunks of segments not yet extracted are estimated from those that were.
        let chunks = Double(c.chunksPlanned) / max(extracted, 1 / Double(segments))
        return (extracted + Double(c.chunksEncoded) / max(chunks, 1)) / 2
    }

    /// Keys the job left (once the grace for its own cleanup is over) and in-flight bytes still counted.
    private func auditKeys(_ report: inout FaultReport, inFlightBefore: Int64) async throws {
        let deadline = Date().addingTimeInterval(cleanupGrace)
        while true {
            report.keysLeaked = try await audit.leakedKeys(jobId: report.jobId)
            report.inFlightBytesLeft = try await audit.clusterInFlightBytes() - inFlightBefore
            if (report.keysLeaked.isEmpty && report.inFlightBytesLeft == 0) || Date() > deadline { return }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
    }

    /// Frames of the output, and how many are missing or differ from the reference's.
    private func compareFrames(_ report: inout FaultReport, output: String, reference: String?) async throws {
        let exists = FileManager.default.fileExists(atPath: output)
        let (frames, lost) = try await BlockingWork.run { () throws -> (Int, Int?) in
            let frames = exists ? try FrameComparison.frames(output).count : 0
            guard let reference else { return (frames, nil) }
            guard exists else { return (0, try FrameComparison.frames(reference).count) }
            return (frames, try FrameComparison.differingFrames(output, from: reference).count)
        }
        report.frames = frames
        report.framesLost = lost
    }
}

/// The harness's supervisor: starts again every service that ended, and tells the kills it was
/// told of from deaths nobody caused.
struct Supervisor {
    private var pendingKills: [String: Int] = [:]
    private(set) var unexpected = 0

    mutating func killed(_ name: String) { pendingKills[name, default: 0] += 1 }

    mutating func restartEnded(_ cluster: ServiceCluster) throws -> [String] {
        let restarted = try cluster.restartEnded()
        for name in restarted {
            if pendingKills[name, default: 0] > 0 { pendingKills[name]! -= 1 } else { unexpected += 1 }
        }
        return restarted
    }
}
