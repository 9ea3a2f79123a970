import Prometheus
import Synchronization

/// The service's metrics, in Prometheus form at `GET /metrics`: the original's "key metrics to
/// monitor" (latency to first chunk and of whole streams, errors by type, active connections),
/// each with its `# HELP` and `# TYPE` lines.
///
/// Each instance has its own registry, so tests can run several services without a global
/// bootstrap; every metric is registered once, with one help text, as swift-prometheus requires.
final class ServiceMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    /// Streams in flight, as of the last scrape.
    let activeStreams: Gauge
    /// From the request to the first chunk line.
    let timeToFirstChunk: DurationHistogram
    /// From the request to the terminal line.
    let streamDuration: DurationHistogram
    /// Chunk lines written.
    let chunks: Counter
    /// InvokeAgent calls repeated after a retryable failure before the first event.
    let upstreamRetries: Counter
    /// Client connections open, as of the last scrape.
    let openConnections: Gauge
    /// Connections refused because `MAX_CONNECTIONS` were open (or the service had closed them all
    /// for shutdown).
    let connectionsRefused: Counter
    /// Connections closed because a request took over `REQUEST_READ_TIMEOUT_SECONDS` to arrive.
    let requestReadTimeouts: Counter
    /// Connections closed because their client read nothing for `IDLE_TIMEOUT_SECONDS`.
    let writeStalls: Counter
    /// Model invocations whose token usage an answer reported.
    let modelInvocations: Counter
    /// Tokens (input and output) per answer that reported usage.
    let answerTokens: ValueHistogram

    /// The counters with a label value, made as each value is first seen, by metric and value.
    private let labelledCounters = Mutex<[CounterKey: Counter]>([:])

    private struct CounterKey: Hashable {
        var name: String
        var value: String
    }

    /// The help text of each labelled counter (one text a name, whatever its labels).
    private static let labelledHelp = [
        "http_requests_total": "HTTP requests answered, by status.",
        "agent_stream_errors_total": "Streams that ended with an error line (or whose client left), by error code.",
        "http_auth_failures_total": "Requests refused for their credentials (none, or not valid), by reason; never by principal.",
        "http_rate_limited_total": "Requests refused with 429 for a principal's limits, by limit.",
        "agent_streams_total": "Streams that ended (well or not), by format.",
        "agent_tokens_total": "Tokens the answers' model invocations used, by type (input, output).",
    ]

    init() {
        let registry = PrometheusCollectorRegistry()
        let latencyBuckets: [Duration] = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
            .seconds(30), .seconds(60), .seconds(120), .seconds(300),
        ]
        self.registry = registry
        self.activeStreams = registry.makeGauge(descriptor: Self.descriptor("agent_streams_active", help: "Streams in flight."))
        self.timeToFirstChunk = registry.makeDurationHistogram(
            descriptor: Self.descriptor("agent_time_to_first_chunk_seconds", help: "Time from the request to the stream's first chunk line."),
            buckets: latencyBuckets
        )
        self.streamDuration = registry.makeDurationHistogram(
            descriptor: Self.descriptor("agent_stream_duration_seconds", help: "Time from the request to the stream's terminal line."),
            buckets: latencyBuckets
        )
        self.chunks = registry.makeCounter(descriptor: Self.descriptor("agent_chunks_total", help: "Chunk lines written."))
        self.upstreamRetries = registry.makeCounter(
            descriptor: Self.descriptor(
                "agent_upstream_retries_total",
                help: "InvokeAgent calls repeated after a retryable failure before the first event."
            )
        )
        self.openConnections = registry.makeGauge(descriptor: Self.descriptor("http_connections_open", help: "Client connections open."))
        self.connectionsRefused = registry.makeCounter(
            descriptor: Self.descriptor(
                "http_connections_refused_total",
                help: "Connections refused because MAX_CONNECTIONS were open or the service was shutting down."
            )
        )
        self.requestReadTimeouts = registry.makeCounter(
            descriptor: Self.descriptor(
                "http_request_read_timeouts_total",
                help: "Connections closed because a request took over REQUEST_READ_TIMEOUT_SECONDS to arrive."
            )
        )
        self.writeStalls = registry.makeCounter(
            descriptor: Self.descriptor(
                "http_write_stalls_total",
                help: "Connections closed because their client read nothing for IDLE_TIMEOUT_SECONDS."
            )
        )
        self.modelInvocations = registry.makeCounter(
            descriptor: Self.descriptor("agent_model_invocations_total", help: "Model invocations whose token usage the answers reported.")
        )
        self.answerTokens = registry.makeValueHistogram(
            descriptor: Self.descriptor("agent_answer_tokens", help: "Tokens (input and output) per answer that reported usage."),
            buckets: [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000]
        )
    }

    /// Counts an answer's token usage (nothing when it reported none).
    func countUsage(_ usage: TokenUsage) {
        guard !usage.isEmpty else { return }
        self.counter("agent_tokens_total", label: "type", value: "input").increment(by: Int64(usage.inputTokens))
        self.counter("agent_tokens_total", label: "type", value: "output").increment(by: Int64(usage.outputTokens))
        self.modelInvocations.increment(by: Int64(usage.modelInvocations))
        self.answerTokens.record(Double(usage.inputTokens + usage.outputTokens))
    }

    /// Counts a finished HTTP request by status.
    func countRequest(status: Int) {
        self.counter("http_requests_total", label: "status", value: String(status)).increment()
    }

    /// Counts a stream that ended with an error line (or a client that went away).
    func countError(code: String) {
        self.counter("agent_stream_errors_total", label: "error_code", value: code).increment()
    }

    /// Counts a stream that ended, by format (`ndjson`, `sse`).
    func countStream(format: String) {
        self.counter("agent_streams_total", label: "format", value: format).increment()
    }

    /// Counts a request refused for its credentials, by ``AuthFailure/Reason``.
    func countAuthFailure(reason: String) {
        self.counter("http_auth_failures_total", label: "reason", value: reason).increment()
    }

    /// Counts a request refused for a principal's limit (`requests` or `streams`).
    func countRateLimited(limit: String) {
        self.counter("http_rate_limited_total", label: "limit", value: limit).increment()
    }

    private func counter(_ name: String, label: String, value: String) -> Counter {
        self.labelledCounters.withLock { counters in
            let key = CounterKey(name: name, value: value)
            if let counter = counters[key] { return counter }
            let descriptor = Self.descriptor(name, help: Self.labelledHelp[name] ?? "")
            let counter = self.registry.makeCounter(descriptor: descriptor, labels: [(label, value)])
            counters[key] = counter
            return counter
        }
    }

    /// `name` as swift-prometheus describes it: the part after the last `_` is the unit
    /// (`total`, `seconds`, `active`, `open`).
    private static func descriptor(_ name: String, help: String) -> MetricNameDescriptor {
        let unit = name.lastIndex(of: "_")!
        return MetricNameDescriptor(metricName: String(name[..<unit]), unitName: String(name[name.index(after: unit)...]), helpText: help)
    }

    /// The Prometheus text exposition of every metric.
    func exposition() -> [UInt8] {
        var output: [UInt8] = []
        self.registry.emit(into: &output)
        return output
    }
}
