import AWSAccess
import AsyncHTTPClient
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
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
    let logger: Logger

    /// Connections waiting to be accepted: a burst of new clients (a frontend release, a load
    /// balancer warming up) waits in the kernel instead of being dropped. Linux caps it at
    /// `net.core.somaxconn` (4096 by default).
    static let listenBacklog = 4_096

    /// Builds the service. Fails when no AWS credential source is configured correctly.
    init(configuration: ServiceConfiguration, clients: AWSHTTPClients, logger: Logger) throws {
        self.configuration = configuration
        self.clients = clients
        self.logger = logger
        let credentials = try CredentialProviderChain(
            environment: configuration.awsEnvironment,
            httpClient: clients.control,
            logger: logger
        )
        self.credentials = credentials
        self.streams = ActiveStreams(limit: configuration.maxConcurrentStreams)
        self.metrics = ServiceMetrics()
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

    /// The application: middleware in order (request id and logs, CORS, JSON errors) and routes.
    func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router(context: ServiceRequestContext.self)
        router.add(middleware: RequestLogMiddleware(metrics: self.metrics))
        router.add(middleware: CORSPolicyMiddleware(allowedOrigins: self.configuration.allowedOrigins))
        router.add(middleware: APIErrorMiddleware())
        let client = BedrockAgentClient(
            clients: self.clients,
            credentials: self.credentials,
            signer: SigV4Signer(service: "bedrock", region: self.configuration.region.name),
            endpoint: self.configuration.endpoints.bedrockAgentRuntime,
            callTimeout: self.configuration.streamTimeout
        )
        StreamRoute(configuration: self.configuration, client: client, streams: self.streams, metrics: self.metrics)
            .register(on: router)
        StatusRoutes(
            configuration: self.configuration,
            credentialSource: self.credentials.source.name,
            identity: self.identity,
            streams: self.streams,
            metrics: self.metrics
        ).register(on: router)
        let logger = self.logger
        return Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [ClientDisconnectHandler(), ResponseHeadFlushHandler()],
                    idleTimeout: TimeAmount(self.configuration.keepAliveTimeout)
                )
            ),
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
        let drain = StreamDrain(streams: self.streams, grace: self.configuration.shutdownGrace, logger: self.logger)
        return ServiceGroup(
            services: [self.application(onRunning: onRunning), drain],
            gracefulShutdownSignals: gracefulShutdownSignals,
            logger: self.logger
        )
    }
}

/// The shutdown drain: when asked to shut down, refuse new streams and report unhealthy, let
/// streams in flight finish for up to the grace period, then end the rest with an
/// `server_shutting_down` error line and wait for them to be written.
struct StreamDrain: Service {
    let streams: ActiveStreams
    let grace: Duration
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        self.streams.beginDraining()
        self.logger.info("Shutting down", metadata: ["active_streams": .stringConvertible(self.streams.count)])
        let deadline = ContinuousClock.now + self.grace
        while self.streams.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if self.streams.count > 0 {
            self.logger.warning("Ending streams still running", metadata: ["active_streams": .stringConvertible(self.streams.count)])
            self.streams.stopAll(.serverShuttingDown)
            while self.streams.count > 0 {
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        self.logger.info("All streams ended")
    }
}
