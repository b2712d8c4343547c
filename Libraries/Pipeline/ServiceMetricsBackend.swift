import Metrics
import Prometheus

// Apart from the metric names: Prometheus has its own Counter and Gauge types.
extension ServiceMetrics {
    /// The registry `/metrics` renders.
    public static let registry = PrometheusCollectorRegistry()

    /// Binds swift-metrics to `registry`; safe to call more than once (swift-metrics allows one bootstrap).
    public static func bootstrap() { _ = bootstrapped }

    private static let bootstrapped: Void = {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Chunks take seconds to minutes and models load in seconds: buckets up to 10 min.
        let seconds: [Double] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]
        factory.defaultDurationHistogramBuckets = seconds.map { .milliseconds(Int64($0 * 1000)) }
        MetricsSystem.bootstrap(factory)
    }()

    /// The Prometheus text format of everything recorded so far.
    public static func render() -> [UInt8] { registry.emitToBuffer() }
}
