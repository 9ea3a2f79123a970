import AWSAccess
import AgentRequest
import Authentication
import BedrockAgentRuntime
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Prometheus
import Tracing

/// The routes that stream an agent's answer (``AgentStream``), each in its format:
/// `POST /api/agent/stream` (the original contract, as NDJSON or Server-Sent Events) and
/// `POST /api/chat` (the AI SDK's UI message stream, for `useChat`). Both read the body under the
/// same limits and become the same ``StreamRequest``.
struct StreamRoute: Sendable {
    /// Which of the two routes a request came by.
    enum Route: Sendable {
        case agentStream
        case chat
    }

    let configuration: ServiceConfiguration
    let backend: any AgentBackend
    let streams: ActiveStreams
    let upstream: UpstreamHealth
    let metrics: ServiceMetrics
    let access: AccessControl
    /// The return-of-control invocations this task streamed, for the check of tool outputs.
    let invocations: PendingInvocations
    /// `nil` when tracing is off.
    var tracing: StreamTracing?

    func register(on router: Router<ServiceRequestContext>) {
        let admission = self.access.admission(metrics: self.metrics)
        router.post("/api/agent/stream") { request, context in
            try await self.stream(request, route: .agentStream, context: admission.admitted(request, context: context))
        }
        router.post("/api/chat") { request, context in
            try await self.stream(request, route: .chat, context: admission.admitted(request, context: context))
        }
        // The AI SDK's resume request: the service keeps no stream to resume.
        router.get("/api/chat/:id/stream") { _, _ in Response(status: .noContent) }
        router.refuseOtherMethods(on: "/api/agent/stream", serving: [.post])
        router.refuseOtherMethods(on: "/api/chat", serving: [.post])
    }

    /// Reads the body of a request ``PrincipalAdmission`` admitted, then starts the stream. The checks and the set-up are in
    /// ``admittedLength(_:)`` and ``start(_:route:accept:context:connection:)``, out of this async
    /// frame (ARCHITECTURE.md, "Async frames on the hot path").
    private func stream(_ request: Request, route: Route, context: ServiceRequestContext) async throws -> Response {
        do {
            let body = try await Self.collect(request.body, upTo: self.admittedLength(request))
            let connection = try await Self.connection(context.channel)
            return try self.start(body, route: route, accept: request.headers[values: .accept], context: context, connection: connection)
        } catch {
            // Rendered here rather than by ``ServiceMiddleware``, so that the refusal's log line
            // (a 400, a 403 for an agent, a 429 for streams) names the principal.
            return ThrownErrorResponse.response(to: error, context: context)
        }
    }

    /// The most of `request`'s body that is read: refuses a type other than JSON, and a declared
    /// length over the limit from the head, before any of the body is read.
    @inline(never)
    private func admittedLength(_ request: Request) throws -> Int {
        guard let contentType = request.headers[.contentType], Self.isJSON(contentType) else {
            throw APIError.unsupportedMediaType
        }
        let limit = self.configuration.maxRequestBytes
        if let declared = request.headers[.contentLength], let length = Int(declared), length > limit {
            throw APIError.tooLarge(limit: limit).closingConnection()
        }
        return limit
    }

    /// The whole body, or the API's error for a body over `limit` or one that cannot be read.
    private static func collect(_ body: RequestBody, upTo limit: Int) async throws -> ByteBuffer {
        do {
            return try await body.collect(upTo: limit)
        } catch {
            throw Self.bodyError(error, limit: limit)
        }
    }

    @inline(never)
    private static func bodyError(_ error: any Error, limit: Int) -> any Error {
        switch error {
        case let error as HTTPError where error.status == .contentTooLarge:
            APIError.tooLarge(limit: limit).closingConnection()
        case let error as HTTPParserError:
            // Bad chunk sizes, an unknown transfer coding: the rest of the connection cannot be read.
            APIError.malformedBody("\(error)").closingConnection()
        default:
            error
        }
    }

    /// The handlers of the connection that a stream uses: its ``ClientDisconnectHandler`` and its
    /// ``StreamWriteHandler``, found without a suspension when the route already runs on the
    /// connection's event loop, as it does with NIO as the global executor.
    private static func connection(_ channel: any Channel) async throws -> StreamConnection {
        if channel.eventLoop.inEventLoop {
            return try StreamConnection(channel)
        }
        return try await channel.eventLoop.submit { try StreamConnection(channel) }.get()
    }

    struct StreamConnection: Sendable {
        let disconnects: ClientDisconnectHandler
        let writer: NIOLoopBound<StreamWriteHandler>

        /// On the channel's event loop.
        init(_ channel: any Channel) throws {
            self.disconnects = try channel.pipeline.syncOperations.handler(type: ClientDisconnectHandler.self)
            self.writer = NIOLoopBound(try channel.pipeline.syncOperations.handler(type: StreamWriteHandler.self), eventLoop: channel.eventLoop)
        }
    }

    /// Checks the body, admits the stream and returns the response that streams it.
    @inline(never)
    private func start(
        _ body: ByteBuffer,
        route: Route,
        accept: [String],
        context: ServiceRequestContext,
        connection: StreamConnection
    ) throws -> Response {
        let disconnects = connection.disconnects
        let input: StreamRequest
        let output: any StreamOutput
        var headers: HTTPFields = [
            .cacheControl: "no-cache, no-store",
            // Proxies such as nginx must pass lines on as they come.
            HTTPField.Name("X-Accel-Buffering")!: "no",
        ]
        switch route {
        case .agentStream:
            input = try StreamRequest(parsing: body, configuration: self.configuration, principal: context.identity)
            try self.invocations.check(input, outputs: nil, field: .invocationId)
            output = NDJSONOutput(framing: Self.framing(accepting: accept))
        case .chat:
            let chat = try ChatRequest(parsing: body, defaultAgentId: self.configuration.defaultAgentId)
            input = try StreamRequest(fields: chat.streamFields, configuration: self.configuration, principal: context.identity)
            try self.invocations.check(input, outputs: chat.toolOutputs, field: .messages)
            output = UIMessageStreamOutput()
            headers[HTTPField.Name("x-vercel-ai-ui-message-stream")!] = "v1"
        }
        headers[.contentType] = output.contentType
        let principalSlot = try context.identity.map(self.principalSlot)
        let controller = StreamController(
            timeouts: .init(
                firstEvent: self.configuration.firstEventTimeout,
                idle: self.configuration.idleTimeout,
                total: self.configuration.streamTimeout,
                heartbeat: output.contentType == "text/event-stream" ? self.configuration.heartbeat : nil
            ),
            eventLoop: context.channel.eventLoop,
            closeConnection: { [channel = context.channel] in channel.close(promise: nil) }
        )
        let slot: ActiveStreams.Slot
        switch self.streams.admit(controller) {
        case .success(let admitted): slot = admitted
        case .failure(.full): throw APIError.tooManyStreams(retryAfterSeconds: 1)
        case .failure(.draining): throw APIError.shuttingDown
        }

        let log = StreamLog(base: context.logger, sessionId: input.target.sessionId, agentId: input.target.agentId, format: output.formatName)
        if self.configuration.debug.logsConversation {
            log.logger.info("Agent prompt", metadata: ["input_text": .string(input.inputText ?? "")])
        }
        let stream = AgentStream(
            request: input,
            output: output,
            requestId: context.requestId,
            backend: self.backend,
            maxAttempts: self.configuration.upstreamMaxAttempts,
            debug: self.configuration.debug,
            metersUsage: self.configuration.usageMetering,
            controller: controller,
            invocations: self.invocations,
            eventLoop: context.channel.eventLoop,
            connection: connection.writer,
            metrics: self.metrics,
            log: log,
            // The server span's context is the task's here, in the route; the body runs after it.
            tracing: self.tracing.map { ($0, parent: ServiceContext.current ?? .topLevel) },
            serverAddress: self.tracing == nil
                ? nil
                : Self.host(
                    of: input.runtime == nil ? self.configuration.endpoints.bedrockAgentRuntime : self.configuration.endpoints.bedrockAgentCore
                ),
            chargeTokens: Self.tokenCharge(principalSlot, limits: self.access.limits)
        )
        let metrics = self.metrics
        let upstream = self.upstream
        let debug = self.configuration.debug
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { writer in
                disconnects.watch(controller)
                let summary = await stream.run(writer: &writer)
                disconnects.stopWatching(controller)
                // The slot is released when this body is, whether it ran or not.
                withExtendedLifetime((slot, principalSlot)) {}
                upstream.record(summary.outcome)
                Self.record(summary, stream: stream, metrics: metrics, logger: log.logger, debug: debug)
                if case .failure(let failure) = summary.outcome, failure.kind == .clientDisconnected {
                    return
                }
                try await writer.finish(nil)
            }
        )
    }

    /// What charges the principal's token budget as usage arrives (not only when the answer
    /// ends); `nil` without a principal or a budget.
    private static func tokenCharge(_ slot: PrincipalLimits.Slot?, limits: PrincipalLimits) -> (@Sendable (Int) -> Void)? {
        guard let slot, limits.tokensPerHour != nil else { return nil }
        return { tokens in slot.spend(tokens: tokens) }
    }

    /// The host of an endpoint URL, for spans.
    static func host(of endpoint: String) -> String? {
        URL(string: endpoint)?.host
    }

    /// Counts the stream against its principal's `PRINCIPAL_MAX_STREAMS`, unless its
    /// `PRINCIPAL_TOKENS_PER_HOUR` is spent.
    private func principalSlot(_ principal: Principal) throws(APIError) -> PrincipalLimits.Slot {
        do {
            return try self.access.limits.openStream(principal)
        } catch {
            self.metrics.countRateLimited(limit: error.limit.rawValue)
            switch error.limit {
            case .tokens:
                throw APIError.tokenBudgetExhausted(
                    tokensPerHour: self.access.limits.tokensPerHour ?? 0,
                    retryAfterSeconds: error.retryAfterSeconds
                )
            case .streams, .requests:
                throw APIError.rateLimited(
                    "This principal already has \(self.access.limits.maxStreams) streams open; retry when one ends.",
                    retryAfterSeconds: error.retryAfterSeconds
                )
            }
        }
    }

    private static func record(_ summary: AgentStream.Summary, stream: AgentStream, metrics: ServiceMetrics, logger: Logger, debug: DebugPolicy) {
        metrics.countStream(format: summary.format)
        metrics.streamDuration.record(summary.duration)
        if let firstChunk = summary.timeToFirstChunk {
            metrics.timeToFirstChunk.record(firstChunk)
        }
        metrics.chunks.increment(by: Int64(summary.chunks))
        metrics.countUsage(summary.usage)
        var metadata: Logger.Metadata = [
            "chunks": .stringConvertible(summary.chunks),
            "content_length": .stringConvertible(summary.contentLength),
            "duration_ms": .stringConvertible(summary.duration.wholeMilliseconds),
            "attempts": .stringConvertible(summary.attempts),
        ]
        if let firstChunk = summary.timeToFirstChunk {
            metadata["time_to_first_chunk_ms"] = .stringConvertible(firstChunk.wholeMilliseconds)
        }
        if !summary.usage.isEmpty {
            metadata["input_tokens"] = .stringConvertible(summary.usage.inputTokens)
            metadata["output_tokens"] = .stringConvertible(summary.usage.outputTokens)
            metadata["model_invocations"] = .stringConvertible(summary.usage.modelInvocations)
        }
        if debug.logsConversation {
            metadata["answer"] = .string(stream.answerText)
        }
        switch summary.outcome {
        case .success:
            logger.info("Agent invocation completed", metadata: metadata)
        case .failure(let failure):
            metrics.countError(code: failure.errorCode)
            metadata["error_code"] = .string(failure.errorCode)
            metadata["detail"] = .string(failure.detail)
            if failure.kind == .clientDisconnected {
                logger.info("Client disconnected; Bedrock request cancelled", metadata: metadata)
            } else {
                logger.error("Agent invocation failed", metadata: metadata)
            }
        }
    }

    /// The framing the client's `Accept` asks for: Server-Sent Events when it names
    /// `text/event-stream` at least as highly as `application/x-ndjson`; NDJSON otherwise (also
    /// for `*/*`, no `Accept`, or types the service does not make, as before SSE existed).
    static func framing(accepting accept: [String]) -> NDJSONOutput.Framing {
        var eventStream: Double?
        var ndjson: Double?
        for range in accept.flatMap({ $0.split(separator: ",") }) {
            let parts = range.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let type = parts.first else { continue }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 0
            }
            switch type {
            case "text/event-stream": eventStream = max(eventStream ?? 0, quality)
            case "application/x-ndjson": ndjson = max(ndjson ?? 0, quality)
            default: break
            }
        }
        guard let eventStream, eventStream > 0 else { return .lines }
        return eventStream >= (ndjson ?? 0) ? .serverSentEvents : .lines
    }

    /// `application/json`, with or without parameters such as `charset`.
    static func isJSON(_ contentType: String) -> Bool {
        // Parameters follow a `;`, which spaces or tabs may precede (RFC 9110, section 5.6.6).
        let mediaType = contentType.prefix { $0 != ";" }
        guard let last = mediaType.lastIndex(where: { $0 != " " && $0 != "\t" }) else { return false }
        return mediaType[...last].lowercased() == "application/json"
    }
}
