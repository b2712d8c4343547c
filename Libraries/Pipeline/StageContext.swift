import Core
import Foundation
import Logging
import Messaging
import Store

/// What every stage handler works with: the bus, the store layout and where media lives.
public struct StageContext: Sendable {
    public var bus: any MessageBus
    public var jobs: JobStore
    /// Every source and output path is resolved under this directory.
    public var mediaRoot: String
    public var logger: Logger
    public var settings: StageSettings

    public init(bus: any MessageBus, jobs: JobStore, mediaRoot: String, logger: Logger, settings: StageSettings = StageSettings()) {
        self.bus = bus
        self.jobs = jobs
        self.mediaRoot = mediaRoot
        self.logger = logger
        self.settings = settings
    }

    public func queue(_ stage: Stage) -> String { bus.names.queue(stage.rawValue) }

    func publish(_ message: StageMessage) async throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try await bus.publish(Array(try message.encoded()), to: queue(message.stage), headers: [MessageHeader.publishedAt: "\(now)"])
    }
}

/// Tunables shared by the stages.
public struct StageSettings: Sendable {
    /// Encoder/decoder threads (0: libav chooses).
    public var codecThreads = 0
    /// An extractor waits before storing more frames while the job holds more than this many bytes in the store.
    public var jobInFlightBudget: Int64 = 512 << 20
    /// … or while all jobs together hold more than this.
    public var clusterInFlightBudget: Int64 = 2 << 30
    /// Seconds a finalize lock lives unless renewed: a working finalizer renews it every third of
    /// that, so a crashed finalizer's job is taken over within this time (not after a worst-case
    /// muxing time).
    public var finalizeLeaseSeconds = 30
    /// Segment length Ingest aims for.
    public var segmentSeconds: Double = 4
    public var chunkPolicy = ChunkPolicy()
    public var limits = JobLimits()
    /// The queues' delivery limit: a transient error on the last allowed delivery fails the chunk visibly.
    public var deliveryLimit = 5
    /// Seconds a worker keeps retrying a transiently failing message in place before it returns the
    /// message to the queue: long enough to ride out a Redis or RabbitMQ restart without spending
    /// deliveries (each redelivery counts towards the limit).
    public var transientRetryWindow: Double = 120
    /// Pauses between those in-place retries.
    public var transientBackoff = Backoff(initial: 0.2, maximum: 5)

    public init() {}
}
