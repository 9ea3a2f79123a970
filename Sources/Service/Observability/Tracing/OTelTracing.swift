import Foundation
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// The OpenTelemetry tracer of swift-otel, exporting spans by OTLP/HTTP in batches from a
/// background service, configured by the `OTEL_*` variables (``TracingConfiguration``). Only
/// traces: the service's metrics stay Prometheus' and its logs its own.
enum OTelTracing {
    /// The service's name when `OTEL_SERVICE_NAME` does not say.
    static let defaultServiceName = "bedrock-agent-streaming"

    /// The tracer and the service that exports its spans (run it in the service group; it
    /// exports what is left when the group shuts down).
    static func make(_ configuration: TracingConfiguration, logger: Logger) throws -> (tracer: any Tracer, service: any Service) {
        var otel = OTel.Configuration.default
        otel.logs.enabled = false
        otel.metrics.enabled = false
        otel.traces.enabled = true
        otel.serviceName = Self.defaultServiceName
        otel.resourceAttributes["service.version"] = ServiceVersion.current
        otel.diagnosticLogger = .custom(logger)
        otel.diagnosticLogLevel = .warning
        // What swift-otel reads from the process environment, taken from this service's view of
        // it (the `.env` file included); swift-otel applies the process environment over it.
        let environment = configuration.environment
        if let name = environment["OTEL_SERVICE_NAME"] { otel.serviceName = name }
        for pair in (environment["OTEL_RESOURCE_ATTRIBUTES"] ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            otel.resourceAttributes[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        if let endpoint = environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] {
            otel.traces.otlpExporter.endpoint = endpoint
        } else if let base = environment["OTEL_EXPORTER_OTLP_ENDPOINT"] {
            otel.traces.otlpExporter.endpoint = base.hasSuffix("/") ? base + "v1/traces" : base + "/v1/traces"
        }
        let protocolName = environment["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] ?? environment["OTEL_EXPORTER_OTLP_PROTOCOL"]
        otel.traces.otlpExporter.protocol = protocolName == "http/json" ? .httpJSON : .httpProtobuf
        let ratio = environment["OTEL_TRACES_SAMPLER_ARG"].flatMap(Double.init) ?? 1
        switch environment["OTEL_TRACES_SAMPLER"] {
        case "always_on": otel.traces.sampler = .alwaysOn
        case "always_off": otel.traces.sampler = .alwaysOff
        case "traceidratio": otel.traces.sampler = .traceIDRatio(ratio: ratio) ?? .alwaysOn
        case "parentbased_always_off": otel.traces.sampler = .parentBasedAlwaysOff
        case "parentbased_traceidratio": otel.traces.sampler = .parentBasedTraceIDRatio(ratio: ratio) ?? .parentBasedAlwaysOn
        default: otel.traces.sampler = .parentBasedAlwaysOn
        }
        // swift-otel reads the process environment itself: it gets the values checked here (the
        // `.env` file's among them, trimmed, an empty one unset), not others.
        for (name, _) in ProcessInfo.processInfo.environment where name.hasPrefix("OTEL_") && environment[name] == nil {
            unsetenv(name)
        }
        for (name, value) in environment {
            setenv(name, value, 1)
        }
        let backend = try OTel.makeTracingBackend(configuration: otel)
        return (backend.factory, backend.service)
    }
}
