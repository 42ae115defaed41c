import CoreMetrics
import Prometheus

/// The process's Prometheus registry, installed as the swift-metrics backend the first time
/// ``shared`` is read. Every `Counter`, `Gauge`, `Meter`, `Recorder` and `Timer` the code creates
/// after that lands here; ``render()`` writes them in the Prometheus text format.
///
/// Read ``shared`` at process start, before servers create their metrics: metrics made earlier
/// stay with swift-metrics' no-op backend. swift-metrics allows one bootstrap per process, so no
/// other backend may be bootstrapped alongside.
public final class PrometheusExport: Sendable {
    public static let shared: PrometheusExport = {
        let export = PrometheusExport()
        MetricsSystem.bootstrap(export.factory)
        return export
    }()

    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    /// A registry of its own, not bootstrapped (for tests and embedding).
    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Downloads take a handful of terminal round trips; the default value buckets start at 5.
        factory.valueHistogramBuckets["lpa_provisioning_round_trips"] = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24]
        self.factory = factory
    }

    /// Prometheus text exposition format (version 0.0.4).
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Everything registered so far, as Prometheus text.
    public func render() -> [UInt8] {
        registry.emitToBuffer()
    }
}
