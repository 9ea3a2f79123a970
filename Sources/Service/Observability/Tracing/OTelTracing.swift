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
        otel.traces.sampler = .parentBasedAlwaysOn
        otel.traces.otlpExporter.protocol = .httpProtobuf
        // swift-otel applies the process environment over these defaults itself (the endpoint,
        // `/v1/traces` added to a shared one, the sampler, the name, the resource attributes,
        // headers, timeouts, batching): it gets exactly the values checked here, the `.env`
        // file's among them, trimmed, an empty one unset. Not OTEL_LOG_LEVEL: swift-otel's
        // info lines print every OTEL_* value it reads, exporter headers (credentials) included.
        let environment = configuration.environment.filter { $0.key != "OTEL_LOG_LEVEL" }
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
