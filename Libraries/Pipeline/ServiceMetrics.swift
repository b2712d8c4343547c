import Core
import Foundation
import Metrics
import Store

/// Every metric a service exports, named once (README "Metrics and probes" lists them). The worker
/// and the handlers record through swift-metrics; only a service process bootstraps the Prometheus
/// backend (`ServiceMetrics.bootstrap`), so the embedded pipeline and the tests record into no-ops.
public enum ServiceMetrics {
    static func processed(_ stage: Stage) -> Counter { Counter(label: "reframe_chunks_processed_total", dimensions: [("stage", stage.rawValue)]) }
    /// Messages this worker dead-lettered (the chunk, segment or job failed).
    static func failed(_ stage: Stage) -> Counter { Counter(label: "reframe_chunks_failed_total", dimensions: [("stage", stage.rawValue)]) }
    /// Deliveries of messages the broker had delivered before (a worker died or gave it back).
    static func retried(_ stage: Stage) -> Counter { Counter(label: "reframe_chunks_retried_total", dimensions: [("stage", stage.rawValue)]) }
    static func seconds(_ stage: Stage) -> Metrics.Timer { Metrics.Timer(label: "reframe_chunk_seconds", dimensions: [("stage", stage.rawValue)]) }
    static func frames(_ stage: Stage) -> Counter { Counter(label: "reframe_frames_total", dimensions: [("stage", stage.rawValue)]) }
    static func bytes(_ stage: Stage) -> Counter { Counter(label: "reframe_bytes_total", dimensions: [("stage", stage.rawValue)]) }
    /// From publish (the `publishedAt` header) to the first delivery.
    static func queueWait(_ stage: Stage) -> Metrics.Timer { Metrics.Timer(label: "reframe_queue_wait_seconds", dimensions: [("stage", stage.rawValue)]) }
    /// Frame bytes of all jobs in the store (DESIGN.md §5), read from the store at each scrape.
    public static let inFlightBytes = Gauge(label: "reframe_inflight_bytes")

    /// Counts a job's end where a service makes it so (`failed` at ingest, by a failed chunk or at
    /// finalize; `done` at finalize). A cancel is counted by whoever cancels.
    public static func jobEnded(_ state: JobState) {
        Counter(label: "reframe_jobs_total", dimensions: [("outcome", state.rawValue)]).increment()
    }
}
