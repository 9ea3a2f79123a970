import AWSAccess
import AgentRequest
import Authentication
import BedrockAgentRuntime
import Foundation
import HTTPTypes
import Hummingbird
import Prometheus

/// `GET /health`, `GET /` (what the service is and its endpoints) and `GET /metrics`.
struct StatusRoutes: Sendable {
    let configuration: ServiceConfiguration
    let credentialSource: String
    let identity: CallerIdentityCache
    let streams: ActiveStreams
    let connections: OpenConnections
    let upstream: UpstreamHealth
    let metrics: ServiceMetrics
    let access: AccessControl

    private struct Health: Encodable {
        struct Details: Encodable {
            var bedrock_client: String
            var aws_region: String
            var aws_account: String?
            var credentials_source: String
            var active_streams: Int
            var version: String
            var identity_check: String?
            var upstream: Upstream
            var auth: Auth
            var backends: Backends
        }

        /// The backends requests can reach: InvokeAgent always, AgentCore Runtime with the runtimes
        /// `AGENTCORE_RUNTIMES` names and which ARNs a request may name (`any`, `allowed`: those of
        /// `ALLOWED_AGENT_RUNTIME_ARNS`, `named`: the named runtimes only).
        struct Backends: Encodable {
            var invoke_agent: Endpoint
            var agentcore_runtime: AgentCore

            struct Endpoint: Encodable {
                var endpoint: String
            }

            struct AgentCore: Encodable {
                var endpoint: String
                var runtimes: [String]
                var runtime_arns: String
            }
        }

        /// Who may call (``AccessControl``): the mode, and the credentials it has to check against.
        struct Auth: Encodable {
            var mode: String
            var api_keys: Int?
            var jwks_keys: Int?
        }

        /// How the recent Bedrock calls went (``UpstreamHealth``).
        struct Upstream: Encodable {
            var status: String
            var consecutive_failures: Int
            var last_error_code: String?
            var last_error_at: String?
        }

        var status: String
        var service: String
        var timestamp: String
        var details: Details
    }

    func register(on router: Router<ServiceRequestContext>) {
        let playground = self.configuration.playgroundEnabled
        router.get("/health") { _, _ in
            try await self.health()
        }
        router.get("/") { _, _ in
            var endpoints: [String: JSONValue] = [
                "stream": .string("POST /api/agent/stream"),
                "chat": .string("POST /api/chat"),
                "client": .string("GET /client/agent-stream.js"),
                "health": .string("GET /health"),
                "metrics": .string("GET /metrics"),
                "info": .string("GET /"),
                "openapi": .string("GET /openapi.json"),
            ]
            if playground { endpoints["playground"] = .string("GET /playground") }
            return Self.json([
                "service": .string(ServiceVersion.serviceName), "version": .string(ServiceVersion.current), "endpoints": .object(endpoints),
            ])
        }
        for path in ["/health", "/", "/metrics"] {
            router.refuseOtherMethods(on: RouterPath(path), serving: [.get])
        }
        router.get("/metrics") { _, _ in
            self.metrics.activeStreams.set(Int64(self.streams.count))
            self.metrics.openConnections.set(Int64(self.connections.count))
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: self.metrics.exposition()))
            )
        }
    }

    /// `healthy` (200) when the credentials' account is verified and Bedrock calls are not failing,
    /// `degraded` (200) when the account cannot be verified, the latest Bedrock calls failed, or
    /// tokens are accepted but none of the issuer's keys could be fetched (the service still
    /// answers; AWS or the issuer may be briefly unreachable), `unhealthy` (503) while draining for
    /// shutdown, so the load balancer stops sending requests.
    private func health() async throws -> Response {
        let draining = self.streams.isDraining
        let upstream = self.upstream.report()
        let jwksKeys = await self.access.jwt?.keys.keyCount
        let identity = draining ? nil : await self.identity.current()
        let status: String
        var account: String?
        var check: String?
        switch identity {
        case nil:
            status = "unhealthy"
            check = "shutting down"
        case .verified(let caller)?:
            // Without any of the issuer's keys, no token can be verified.
            status = upstream.failing || jwksKeys == 0 ? "degraded" : "healthy"
            account = caller.account
        case .unverified(let reason)?:
            status = "degraded"
            check = reason
        }
        let health = Health(
            status: status,
            service: ServiceVersion.serviceName,
            timestamp: AWSDateFormat.iso8601(Date(), withMilliseconds: true),
            details: .init(
                bedrock_client: "initialized",
                aws_region: self.configuration.region.name,
                aws_account: account,
                credentials_source: self.credentialSource,
                active_streams: self.streams.count,
                version: ServiceVersion.current,
                identity_check: check,
                upstream: .init(
                    status: upstream.failing ? "failing" : "ok",
                    consecutive_failures: upstream.consecutiveFailures,
                    last_error_code: upstream.lastErrorCode,
                    last_error_at: upstream.lastErrorDate.map { AWSDateFormat.iso8601($0, withMilliseconds: true) }
                ),
                auth: .init(mode: self.configuration.auth.modeName, api_keys: self.access.apiKeys?.count, jwks_keys: jwksKeys),
                backends: self.backends
            )
        )
        return Response(
            status: draining ? .serviceUnavailable : .ok,
            headers: [.contentType: "application/json", .cacheControl: "no-cache"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try JSONEncoder.sortedKeys.encode(health)))
        )
    }

    private var backends: Health.Backends {
        let agentCore = self.configuration.agentCore
        let arns =
            agentCore.allowedArns != nil ? "allowed" : self.configuration.allowedAgentIds != nil ? "named" : "any"
        return .init(
            invoke_agent: .init(endpoint: self.configuration.endpoints.bedrockAgentRuntime),
            agentcore_runtime: .init(
                endpoint: self.configuration.endpoints.bedrockAgentCore,
                runtimes: agentCore.runtimes.keys.sorted(),
                runtime_arns: arns
            )
        )
    }

    private static func json(_ object: [String: JSONValue]) -> Response {
        return Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: (try? JSONEncoder.sortedKeys.encode(object)) ?? Data()))
        )
    }
}
