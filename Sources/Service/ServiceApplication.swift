import AWSAccess
import AsyncHTTPClient
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import Tracing
import UnixSignals

/// The service assembled: configuration, AWS access, the routes and middleware, and the shutdown
/// drain. `run()` serves until SIGTERM or SIGINT, then drains (see ``StreamDrain``) and exits.
struct ServiceApplication: Sendable {
    let configuration: ServiceConfiguration
    let clients: AWSHTTPClients
    let credentials: any CredentialProvider
    let streams: ActiveStreams
    let metrics: ServiceMetrics
    let identity: CallerIdentityCache
    let connections: OpenConnections
    let upstream: UpstreamHealth
    let access: AccessControl
    let invocations = PendingInvocations()
    /// `nil` when tracing is off.
    let tracing: StreamTracing?
    /// What exports the spans (swift-otel's), run first in the group so that it stops last.
    let telemetry: [any Service]
    let logger: Logger

    /// Connections waiting to be accepted: a burst of new clients (a frontend release, a load
    /// balancer warming up) waits in the kernel instead of being dropped. Linux caps it at
    /// `net.core.somaxconn` (4096 by default).
    static let listenBacklog = 4_096

    /// Builds the service. Fails when no AWS credential source is configured correctly.
    init(
        configuration: ServiceConfiguration,
        clients: AWSHTTPClients,
        logger: Logger,
        tracing: StreamTracing? = nil,
        telemetry: [any Service] = []
    ) throws {
        self.configuration = configuration
        self.clients = clients
        self.logger = logger
        self.tracing = tracing
        self.telemetry = telemetry
        let credentials = try CredentialProviderChain(
            environment: configuration.awsEnvironment,
            httpClient: clients.control,
            logger: logger
        )
        self.credentials = credentials
        self.access = try AccessControl(configuration: configuration.auth, httpClient: clients.control, logger: logger)
        self.streams = ActiveStreams(limit: configuration.maxConcurrentStreams)
        self.metrics = ServiceMetrics()
        self.upstream = UpstreamHealth()
        self.connections = OpenConnections(limit: configuration.maxConnections, metrics: self.metrics, logger: logger)
        let sts = STSClient(
            httpClient: clients.control,
            region: configuration.region,
            endpoint: configuration.endpoints.sts,
            configuration: .init(timeout: configuration.healthIdentityTimeout)
        )
        self.identity = CallerIdentityCache(timeout: configuration.healthIdentityTimeout, logger: logger) {
            try await sts.getCallerIdentity(credentials: credentials.credentials())
        }
    }

    /// The application: middleware in order (the server span and its ids on the log lines when
    /// tracing is on, then ``ServiceMiddleware``: request id and logs, CORS, JSON errors) and routes.
    func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        // HEAD on a GET endpoint answers as GET does, without the body (RFC 9110, section 9.3.2).
        let router = Router(context: ServiceRequestContext.self, options: .autoGenerateHeadEndpoints)
        if let tracing = self.tracing {
            router.add(middleware: APITracingMiddleware())
            router.add(middleware: TraceLogMiddleware(tracer: tracing.tracer))
        }
        router.add(
            middleware: ServiceMiddleware(log: RequestLog(metrics: self.metrics), cors: CORSPolicy(allowedOrigins: self.configuration.allowedOrigins))
        )
        let call = { (service: String) in
            SignedUpstreamCall(
                clients: self.clients,
                credentials: self.credentials,
                signer: SigV4Signer(service: service, region: self.configuration.region.name),
                callTimeout: self.configuration.streamTimeout
            )
        }
        let backend = AgentBackends(
            invokeAgent: InvokeAgentBackend(call: call("bedrock"), endpoint: self.configuration.endpoints.bedrockAgentRuntime),
            agentCoreRuntime: AgentCoreRuntimeBackend(call: call("bedrock-agentcore"), endpoint: self.configuration.endpoints.bedrockAgentCore)
        )
        StreamRoute(
            configuration: self.configuration,
            backend: backend,
            streams: self.streams,
            upstream: self.upstream,
            metrics: self.metrics,
            access: self.access,
            invocations: self.invocations,
            tracing: self.tracing
        )
        .register(on: router)
        BrowserRoutes(configuration: self.configuration).register(on: router)
        OpenAPIRoute(configuration: self.configuration).register(on: router)
        StatusRoutes(
            configuration: self.configuration,
            credentialSource: self.credentials.source.name,
            identity: self.identity,
            streams: self.streams,
            connections: self.connections,
            upstream: self.upstream,
            metrics: self.metrics,
            access: self.access
        ).register(on: router)
        let logger = self.logger
        return Application(
            router: router,
            server: HTTPServerBuilder { responder in
                GuardedHTTP1Channel(
                    http1: HTTP1Channel(
                        responder: responder,
                        configuration: .init(
                            additionalChannelHandlers: [ClientDisconnectHandler(), ResponseHeadFlushHandler()],
                            idleTimeout: TimeAmount(self.configuration.keepAliveTimeout)
                        )
                    ),
                    connections: self.connections,
                    limits: .init(
                        requestReadTimeout: self.configuration.requestReadTimeout,
                        writeStallTimeout: self.configuration.idleTimeout
                    ),
                    metrics: self.metrics
                )
            },
            configuration: .init(
                address: .hostname(self.configuration.host, port: self.configuration.port),
                serverName: ServiceVersion.serviceName,
                backlog: Self.listenBacklog
            ),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("Service listening", metadata: ["port": .stringConvertible(port)])
                await onRunning(port)
            },
            logger: logger
        )
    }

    /// Serves until SIGTERM or SIGINT, drains, and returns.
    func run() async throws {
        try await self.serviceGroup(gracefulShutdownSignals: [.sigterm, .sigint]).run()
    }

    /// The server and the drain. Services shut down in reverse order: the drain runs first while
    /// the server still answers (refusing new streams, /health 503), then the server stops.
    func serviceGroup(
        gracefulShutdownSignals: [UnixSignal],
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> ServiceGroup {
        let drain = StreamDrain(
            streams: self.streams,
            connections: self.connections,
            grace: self.configuration.shutdownGrace,
            logger: self.logger
        )
        return ServiceGroup(
            services: self.telemetry + self.access.services + [self.application(onRunning: onRunning), drain],
            gracefulShutdownSignals: gracefulShutdownSignals,
            logger: self.logger
        )
    }
}
