import CoreMetrics
import Prometheus
import Synchronization

/// The service's metrics, in Prometheus form at `GET /metrics`: the original's "key metrics to
/// monitor" (latency to first chunk and of whole streams, errors by type, active connections).
///
/// Each instance has its own registry, so tests can run several services without a global
/// bootstrap; every metric is registered once, as swift-prometheus requires.
final class ServiceMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    /// Streams in flight, as of the last scrape.
    let activeStreams: CoreMetrics.Gauge
    /// From the request to the first chunk line.
    let timeToFirstChunk: CoreMetrics.Timer
    /// From the request to the terminal line.
    let streamDuration: CoreMetrics.Timer
    /// Chunk lines written.
    let chunks: CoreMetrics.Counter
    /// InvokeAgent calls repeated after a retryable failure before the first event.
    let upstreamRetries: CoreMetrics.Counter
    /// Client connections open, as of the last scrape.
    let openConnections: CoreMetrics.Gauge
    /// Connections refused because `MAX_CONNECTIONS` were open (or the service had closed them all
    /// for shutdown).
    let connectionsRefused: CoreMetrics.Counter
    /// Connections closed because a request took over `REQUEST_READ_TIMEOUT_SECONDS` to arrive.
    let requestReadTimeouts: CoreMetrics.Counter
    /// Connections closed because their client read nothing for `IDLE_TIMEOUT_SECONDS`.
    let writeStalls: CoreMetrics.Counter

    private let requestCounters = Mutex<[Int: CoreMetrics.Counter]>([:])
    private let errorCounters = Mutex<[String: CoreMetrics.Counter]>([:])

    init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let latencyBuckets: [Duration] = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
            .seconds(30), .seconds(60), .seconds(120), .seconds(300),
        ]
        factory.defaultDurationHistogramBuckets = latencyBuckets
        self.registry = registry
        self.factory = factory
        self.activeStreams = CoreMetrics.Gauge(label: "agent_streams_active", factory: factory)
        self.timeToFirstChunk = CoreMetrics.Timer(label: "agent_time_to_first_chunk_seconds", factory: factory)
        self.streamDuration = CoreMetrics.Timer(label: "agent_stream_duration_seconds", factory: factory)
        self.chunks = CoreMetrics.Counter(label: "agent_chunks_total", factory: factory)
        self.upstreamRetries = CoreMetrics.Counter(label: "agent_upstream_retries_total", factory: factory)
        self.openConnections = CoreMetrics.Gauge(label: "http_connections_open", factory: factory)
        self.connectionsRefused = CoreMetrics.Counter(label: "http_connections_refused_total", factory: factory)
        self.requestReadTimeouts = CoreMetrics.Counter(label: "http_request_read_timeouts_total", factory: factory)
        self.writeStalls = CoreMetrics.Counter(label: "http_write_stalls_total", factory: factory)
    }

    /// Counts a finished HTTP request by status.
    func countRequest(status: Int) {
        self.requestCounters.withLock { counters in
            if let counter = counters[status] { return counter }
            let counter = CoreMetrics.Counter(label: "http_requests_total", dimensions: [("status", String(status))], factory: self.factory)
            counters[status] = counter
            return counter
        }.increment()
    }

    /// Counts a stream that ended with an error line (or a client that went away).
    func countError(code: String) {
        self.errorCounters.withLock { counters in
            if let counter = counters[code] { return counter }
            let counter = CoreMetrics.Counter(label: "agent_stream_errors_total", dimensions: [("error_code", code)], factory: self.factory)
            counters[code] = counter
            return counter
        }.increment()
    }

    /// The Prometheus text exposition of every metric.
    func exposition() -> [UInt8] {
        var output: [UInt8] = []
        self.registry.emit(into: &output)
        return output
    }
}
