import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// MockBedrock's HTTP server: Bedrock Agent Runtime's InvokeAgent, AgentCore Runtime's
/// InvokeAgentRuntime, STS, and the ECS container-credentials endpoint on one port, so one
/// `AWS_ENDPOINT_URL` points a client at all.
struct MockBedrockServer: Sendable {
    let configuration: MockBedrockConfiguration
    let fixtures: FixtureStore
    let state: MockState
    /// The OIDC issuer at `/oidc`, for services run with `AUTH_MODE=jwt`.
    let oidc: OIDCIssuer
    let logger: Logger

    /// Loads the fixtures; a fixture that cannot be used stops start-up with an error naming it.
    init(configuration: MockBedrockConfiguration, logger: Logger = Logger(label: "MockBedrock")) throws {
        self.init(configuration: configuration, fixtures: try FixtureStore.load(from: configuration.fixtures), logger: logger)
    }

    /// Serves fixtures already loaded, as tests that start many servers do.
    init(configuration: MockBedrockConfiguration, fixtures: FixtureStore, logger: Logger = Logger(label: "MockBedrock")) {
        self.configuration = configuration
        self.fixtures = fixtures
        self.state = MockState(testCredentials: configuration.credentials)
        self.oidc = OIDCIssuer(fixedIssuer: configuration.oidcIssuer)
        self.logger = logger
    }

    /// The application, serving until its service group is told to stop; `onRunning` learns the
    /// bound port (useful with port 0).
    func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router(context: MockRequestContext.self)
        let authenticator = RequestAuthenticator(
            region: self.configuration.region,
            state: self.state,
            maximumClockSkew: self.configuration.maximumClockSkew
        )
        let replay = RecordedReplay(state: self.state, paced: !self.configuration.fullSpeed)
        InvokeAgentRoute(fixtures: self.fixtures, state: self.state, authenticator: authenticator, replay: replay).register(on: router)
        InvokeAgentRuntimeRoute(fixtures: self.fixtures, state: self.state, authenticator: authenticator, replay: replay).register(on: router)
        STSRoutes(configuration: self.configuration, state: self.state, authenticator: authenticator).register(on: router)
        ContainerCredentialsRoute(configuration: self.configuration, state: self.state).register(on: router)
        let state = self.state
        router.get("/_mock/stats") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ScenarioPlayer.json(state.statistics))
            )
        }
        router.get("/_mock/invocations") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ScenarioPlayer.json(state.invocations))
            )
        }
        OIDCRoutes(issuer: self.oidc, state: self.state).register(on: router)
        let logger = self.logger
        let agents = self.fixtures.agentIds
        return Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [ConnectionCounter(state: state)])),
            configuration: .init(
                address: .hostname(self.configuration.host, port: self.configuration.port),
                serverName: "MockBedrock",
                // Load tests open a thousand connections at once; Linux caps this at somaxconn.
                backlog: 4_096
            ),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("MockBedrock listening", metadata: ["port": "\(port)", "agents": "\(agents.joined(separator: ","))"])
                await onRunning(port)
            },
            logger: logger
        )
    }

    /// Runs the server in the background for the duration of `body`, which receives its port.
    func withRunningServer<Result: Sendable>(_ body: @Sendable (Int) async throws -> Result) async throws -> Result {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let application = self.application { port in continuation.yield(port) }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                throw CancellationError()
            }
            defer { group.cancelAll() }
            return try await body(port)
        }
    }
}
