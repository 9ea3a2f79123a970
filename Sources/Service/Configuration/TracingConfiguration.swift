import Foundation

/// OpenTelemetry tracing, from the standard `OTEL_*` variables (README, "Tracing"). Tracing is on
/// when an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and neither `OTEL_SDK_DISABLED=true` nor
/// `OTEL_TRACES_EXPORTER=none` turns it off; otherwise no span is made and nothing is exported.
///
/// swift-otel reads the variables itself (``OTelTracing``); they are checked here first, because
/// swift-otel only logs a value it cannot use and goes on with its default: a misspelt sampler
/// would trace every request, a gRPC endpoint (not built in) would export nothing.
struct TracingConfiguration: Sendable, Equatable {
    /// Whether spans are made and exported.
    var enabled = false
    /// The `OTEL_*` variables as this service checked them (the process environment over the
    /// `.env` file, trimmed, empty ones dropped); ``OTelTracing`` makes the process environment
    /// say the same before swift-otel reads it.
    var environment: [String: String] = [:]

    /// The samplers swift-otel implements, by their `OTEL_TRACES_SAMPLER` names.
    static let samplers: Set<String> = [
        "always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio",
    ]

    init() {}

    init(reader: SettingReader) throws(ConfigurationError) {
        // As the OpenTelemetry specification says, an empty value is as if it were not set
        // (compose's `${OTEL_EXPORTER_OTLP_ENDPOINT:-}` leaves tracing off).
        self.environment = reader.environment.filter { $0.key.hasPrefix("OTEL_") }
            .mapValues { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.value.isEmpty }
        let reader = SettingReader(environment: self.environment)
        let disabled = try reader.boolean("OTEL_SDK_DISABLED") ?? false
        let exporter = try reader.text("OTEL_TRACES_EXPORTER")?.lowercased()
        if let exporter, !["otlp", "none"].contains(exporter) {
            throw ConfigurationError(source: "OTEL_TRACES_EXPORTER", problem: "must be otlp or none, got '\(exporter)'")
        }
        var endpointSet = false
        for name in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] {
            guard let endpoint = try reader.text(name) else { continue }
            try Self.checkEndpoint(endpoint, name)
            endpointSet = true
        }
        for name in ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] {
            guard let value = try reader.text(name) else { continue }
            guard ["http/protobuf", "http/json"].contains(value) else {
                throw ConfigurationError(
                    source: name,
                    problem: "must be http/protobuf or http/json (OTLP over HTTP, port 4318; gRPC is not built in), got '\(value)'"
                )
            }
        }
        if let sampler = try reader.text("OTEL_TRACES_SAMPLER") {
            guard Self.samplers.contains(sampler) else {
                throw ConfigurationError(
                    source: "OTEL_TRACES_SAMPLER",
                    problem: "must be one of \(Self.samplers.sorted().joined(separator: ", ")), got '\(sampler)'"
                )
            }
        }
        if let argument = try reader.text("OTEL_TRACES_SAMPLER_ARG") {
            guard let ratio = Double(argument), (0...1).contains(ratio) else {
                throw ConfigurationError(
                    source: "OTEL_TRACES_SAMPLER_ARG",
                    problem: "must be a sampling ratio from 0 to 1, got '\(argument)'"
                )
            }
        }
        if let propagators = try reader.text("OTEL_PROPAGATORS") {
            // swift-otel 1.6 implements W3C trace context only; it stops the process at any other.
            let names = propagators.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !names.isEmpty, names.allSatisfy(["tracecontext", "none"].contains) else {
                throw ConfigurationError(source: "OTEL_PROPAGATORS", problem: "must be tracecontext (or none), got '\(propagators)'")
            }
        }
        for name in ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"] {
            guard let headers = try reader.text(name) else { continue }
            // The values are often credentials: the message never shows them.
            for pair in headers.split(separator: ",", omittingEmptySubsequences: true) {
                guard let equals = pair.firstIndex(of: "="), pair[..<equals].contains(where: { !$0.isWhitespace }) else {
                    throw ConfigurationError(source: name, problem: "must be key=value pairs separated by commas (the value is not shown)")
                }
            }
        }
        // Milliseconds, and queue sizes.
        for name in ["OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT"] {
            _ = try reader.integer(name, in: 0...86_400_000)
        }
        for name in ["OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"] {
            _ = try reader.integer(name, in: 1...1_000_000)
        }
        for name in ["OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"] {
            if let value = try reader.text(name), !["gzip", "none"].contains(value) {
                throw ConfigurationError(source: name, problem: "must be gzip or none, got '\(value)'")
            }
        }
        if let attributes = try reader.text("OTEL_RESOURCE_ATTRIBUTES") {
            for pair in attributes.split(separator: ",", omittingEmptySubsequences: true) {
                guard let equals = pair.firstIndex(of: "="), pair[..<equals].contains(where: { !$0.isWhitespace }) else {
                    throw ConfigurationError(
                        source: "OTEL_RESOURCE_ATTRIBUTES",
                        problem: "must be key=value pairs separated by commas, got '\(pair)'"
                    )
                }
            }
        }
        self.enabled = endpointSet && !disabled && exporter != "none"
    }

    /// An OTLP/HTTP endpoint: an http or https URL with a host.
    private static func checkEndpoint(_ endpoint: String, _ name: String) throws(ConfigurationError) {
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else {
            throw ConfigurationError(source: name, problem: "must be an http or https URL such as http://localhost:4318, got '\(endpoint)'")
        }
    }
}
