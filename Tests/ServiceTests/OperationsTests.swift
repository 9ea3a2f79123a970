import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import TestSupport
import Testing

@testable import AgentStreamingService
@testable import MockBedrock

/// What operators and browsers see: health, logs, metrics, CORS, disconnects and the shutdown drain.
@Suite("Operations", .timeLimit(.minutes(2)))
struct OperationsTests {
    @Test("a service that cannot start fails its test instead of hanging it")
    func failsToStart() async throws {
        let busy = try RefusingPort()
        let error = await #expect(throws: TestServiceDidNotStart.self) {
            try await withService(environment: ["PORT": "\(busy.port)"]) { _ in }
        }
        #expect(error?.reason.contains("Address already in use") == true, "\(String(describing: error))")
    }

    @Test("/health is healthy with the account when STS verifies the credentials")
    func healthy() async throws {
        try await withService { service in
            let health = try await service.get("/health")
            #expect(health.status == 200)
            let json = try #require(health.json)
            #expect(json["status"] == .string("healthy"))
            #expect(json["service"] == .string("bedrock-agent-streaming"))
            #expect(json["details"]?["aws_account"] == .string("123456789012"))
            #expect(json["details"]?["aws_region"] == .string("us-east-1"))
            #expect(json["details"]?["bedrock_client"] == .string("initialized"))
            #expect(json["details"]?["credentials_source"] == .string("environment"))
            #expect(json["details"]?["active_streams"] == .number(0))
            #expect(json["details"]?["version"] == .string(ServiceVersion.current))
        }
    }

    @Test("/health is degraded, still 200 and fast, when STS cannot be reached")
    func degraded() async throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let closedPort = refusing.port
        try await withService(environment: ["AWS_ENDPOINT_URL_STS": "http://127.0.0.1:\(closedPort)"]) { service in
            let health = try await service.get("/health")
            #expect(health.status == 200)
            #expect(health.json?["status"] == .string("degraded"))
            #expect(health.json?["details"]?["aws_account"] == .null || health.json?["details"]?["aws_account"] == nil)
        }
    }

    @Test("GET / lists the service and its endpoints")
    func index() async throws {
        try await withService { service in
            let index = try await service.get("/")
            #expect(index.json?["service"] == .string("bedrock-agent-streaming"))
            #expect(index.json?["endpoints"]?["stream"] == .string("POST /api/agent/stream"))
        }
    }

    @Test("log lines keep the original format and carry the request id")
    func logFormat() async throws {
        try await withService { service in
            let result = try await service.stream(
                #"{"input_text": "secret prompt", "agent_id": "HELLO", "session_id": "s-1"}"#,
                headers: [("Content-Type", "application/json"), ("X-Request-ID", "abc-123")]
            )
            #expect(result.status == 200)
            #expect(try await eventually { service.logLines.value.contains { $0.contains("Request completed") } })
            let lines = service.logLines.value.filter { $0.contains("abc-123") }
            let started = try #require(lines.first { $0.contains("Request started") })
            #expect(
                started.wholeMatch(
                    of:
                        /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - app - INFO - Request started - \{"request_id": "abc-123", "method": "POST", "url": "\/api\/agent\/stream"\}/
                ) != nil,
                "\(started)"
            )
            let completed = try #require(lines.first { $0.contains("Agent invocation completed") })
            #expect(completed.contains(#""session_id": "s-1""#))
            #expect(completed.contains(#""chunks": 4"#))
            #expect(completed.contains(#""content_length": 66"#))
            #expect(completed.contains(#""time_to_first_chunk_ms": "#))
            #expect(completed.contains(#""duration_ms": "#))
            #expect(lines.contains { $0.contains("Request completed") && $0.contains(#""status": 200"#) })
            #expect(
                !service.logLines.value.contains { $0.contains("secret prompt") || $0.contains("How can I help") },
                "no prompts or answers without DEBUG_MODE"
            )
        }
    }

    @Test("with DEBUG_MODE, prompts and answers are logged")
    func debugLogs() async throws {
        try await withService(environment: ["DEBUG_MODE": "true"]) { service in
            _ = try await service.stream(#"{"input_text": "my \"quoted\" prompt", "agent_id": "HELLO"}"#)
            #expect(try await eventually { service.logLines.value.contains { $0.contains("Agent invocation completed") } })
            let lines = service.logLines.value
            #expect(lines.contains { $0.contains("Agent prompt") && $0.contains(#"my \"quoted\" prompt"#) })
            #expect(lines.contains { $0.contains(#""answer": "Hello! I am MockBedrock, an offline Bedrock agent. How can I help?""#) })
        }
    }

    @Test("LOG_FORMAT=json writes one JSON object a line")
    func jsonLogs() async throws {
        try await withService(environment: ["LOG_FORMAT": "json"]) { service in
            _ = try await service.get("/health")
            #expect(try await eventually { service.logLines.value.contains { $0.contains("Request completed") } })
            for line in service.logLines.value {
                let json = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))
                #expect(json["logger"] == .string("app"))
                #expect(json["message"] != nil)
            }
        }
    }

    @Test("metrics in Prometheus format")
    func metrics() async throws {
        try await withService { service in
            _ = try await service.stream(agent: "HELLO")
            _ = try await service.stream(agent: "EXTHROTTLE")
            _ = try await service.stream(#"{"#)
            #expect(try await eventually { service.logLines.value.filter { $0.contains("Request completed") }.count == 3 })
            let metrics = try await service.get("/metrics")
            #expect(metrics.headers.first(name: "content-type")?.hasPrefix("text/plain") == true)
            #expect(metrics.body.contains(#"http_requests_total{status="200"} 2"#))
            #expect(metrics.body.contains(#"http_requests_total{status="400"} 1"#))
            #expect(metrics.body.contains("agent_chunks_total 5"))
            #expect(metrics.body.contains(#"agent_stream_errors_total{error_code="throttled"} 1"#))
            #expect(metrics.body.contains("agent_time_to_first_chunk_seconds_bucket"))
            #expect(metrics.body.contains("agent_stream_duration_seconds_count 2"))
            #expect(metrics.body.contains("agent_streams_active 0"))
            #expect(metrics.body.contains("# HELP agent_chunks_total Chunk lines written."))
            #expect(metrics.body.contains("# TYPE agent_chunks_total counter"))
            #expect(metrics.body.contains("# HELP http_requests_total HTTP requests answered, by status."))
            #expect(metrics.body.contains("# TYPE agent_stream_duration_seconds histogram"))
            // Every metric has its help and type lines.
            let names = Set(
                metrics.body.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
                    line.split(whereSeparator: { $0 == "{" || $0 == " " }).first.map { String($0) }
                }.map { $0.replacing(/_(bucket|sum|count)$/, with: "") }
            )
            for name in names {
                #expect(metrics.body.contains("# HELP \(name) "), "\(name) has help")
                #expect(metrics.body.contains("# TYPE \(name) "), "\(name) has a type")
            }
        }
    }

    @Test("CORS: preflights answered for allowed origins; other origins get no CORS headers")
    func cors() async throws {
        try await withService(environment: ["ALLOWED_ORIGINS": "https://app.example.com, http://localhost:3000"]) { service in
            var preflight = HTTPClientRequest(url: service.baseURL + "/api/agent/stream")
            preflight.method = .OPTIONS
            preflight.headers.add(name: "Origin", value: "http://localhost:3000")
            preflight.headers.add(name: "Access-Control-Request-Method", value: "POST")
            preflight.headers.add(name: "Access-Control-Request-Headers", value: "content-type")
            let allowed = try await HTTPClient.shared.execute(preflight, timeout: .seconds(5))
            #expect(allowed.status == .noContent)
            #expect(allowed.headers.first(name: "access-control-allow-origin") == "http://localhost:3000")
            #expect(allowed.headers.first(name: "access-control-allow-methods")?.contains("POST") == true)

            preflight.headers.replaceOrAdd(name: "Origin", value: "https://evil.example.com")
            let refused = try await HTTPClient.shared.execute(preflight, timeout: .seconds(5))
            #expect(refused.headers.first(name: "access-control-allow-origin") == nil)
            #expect(refused.headers.first(name: "access-control-allow-methods") == nil)

            let stream = try await service.stream(
                #"{"input_text": "Hi", "agent_id": "HELLO"}"#,
                headers: [("Content-Type", "application/json"), ("Origin", "https://app.example.com")]
            )
            #expect(stream.headers.first(name: "access-control-allow-origin") == "https://app.example.com")
            #expect(stream.headers.first(name: "access-control-expose-headers")?.contains("X-Request-ID") == true)
            let error = try await service.stream("{", headers: [("Content-Type", "application/json"), ("Origin", "https://app.example.com")])
            #expect(error.headers.first(name: "access-control-allow-origin") == "https://app.example.com", "browsers can read errors")
        }
        try await withService { service in
            let any = try await service.get("/health", headers: [("Origin", "https://anything.example")])
            #expect(any.headers.first(name: "access-control-allow-origin") == "*")
        }
    }

    @Test("a client that disconnects cancels the Bedrock request at once")
    func clientDisconnect() async throws {
        try await withService { (service: TestService) async throws -> Void in
            let request = service.request(#"{"input_text": "Hi", "agent_id": "FSILENT"}"#)
            let reader = Task {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                for try await _ in response.body {}
            }
            #expect(try await eventually { service.mock.statistics.streamsStarted == 1 })
            reader.cancel()
            // The mock is silent (a stall), so only the service's cancellation can end its stream.
            #expect(try await eventually { service.mock.statistics.streamsInterrupted == 1 })
            #expect(try await eventually { service.logLines.value.contains { $0.contains("Client disconnected") } })
            #expect(try await eventually { service.service.streams.count == 0 })
        }
    }

    @Test("a stream's connection carries the client's next requests (keep-alive), each stream watched for disconnects")
    func keepAlive() async throws {
        try await withService { service in
            let connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: service.port) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                }
            try await connection.executeThenClose { inbound, outbound in
                var responses = inbound.makeAsyncIterator()
                var received = ""
                for agent in ["HELLO", "CITED", "HELLO"] {
                    let body = #"{"input_text": "Hi", "agent_id": "\#(agent)"}"#
                    let head =
                        "POST /api/agent/stream HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
                    try await outbound.write(ByteBuffer(string: head + body))
                    // A chunked response ends with its empty last chunk.
                    while !received.contains("\r\n0\r\n\r\n"), let piece = try await responses.next() {
                        received += String(buffer: piece)
                    }
                    let response = try #require(received.range(of: "\r\n0\r\n\r\n").map { received[..<$0.upperBound] })
                    #expect(response.hasPrefix("HTTP/1.1 200"), "\(agent) on the same connection")
                    #expect(!response.lowercased().contains("connection: close"))
                    #expect(response.contains(#""type":"completion""#))
                    received = String(received[response.endIndex...])
                }
            }
            #expect(service.mock.statistics.streamsCompleted == 3)
            #expect(try await eventually { service.service.streams.count == 0 })
            #expect(!service.logLines.value.contains { $0.contains("Client disconnected") }, "a finished stream is no longer watched")
        }
    }

    @Test("Bedrock connections are kept and reused: streams open about as many as run at once")
    func upstreamConnectionsReused() async throws {
        try await withService { service in
            for _ in 0..<6 {
                try await withThrowingTaskGroup(of: Void.self) { streams in
                    for _ in 0..<4 {
                        streams.addTask {
                            let result = try await service.stream(agent: "HELLO")
                            #expect(result.body.contains(#""type":"completion""#))
                        }
                    }
                    try await streams.waitForAll()
                }
            }
            #expect(service.mock.statistics.streamsCompleted == 24)
            // Four at a time on each of the service's event loops at most; a connection per stream
            // would make 24.
            let loops = MultiThreadedEventLoopGroup.singleton.makeIterator().map { $0 }.count
            #expect(service.mock.statistics.connections <= 4 * loops)
        }
    }

    @Test("SIGTERM drain: /health turns 503, streams in flight finish, new ones are refused")
    func drainLetsStreamsFinish() async throws {
        try await withService(environment: ["SHUTDOWN_GRACE_SECONDS": "10"]) { service in
            let slow = Task { try await service.stream(agent: "SLOW") }
            #expect(try await eventually { service.service.streams.count == 1 })
            await service.group.triggerGracefulShutdown()
            #expect(try await eventually { service.service.streams.isDraining })
            let health = try await service.get("/health")
            #expect(health.status == 503)
            #expect(health.json?["status"] == .string("unhealthy"))
            let refused = try await service.stream(agent: "HELLO")
            #expect(refused.status == 503)
            #expect(refused.json?["error_code"] == .string("server_shutting_down"))
            let finished = try await slow.value
            finished.checkInvariants()
            #expect(finished.last?["type"] == .string("completion"))
        }
    }

    @Test("SIGTERM drain: streams still running after the grace period end with server_shutting_down")
    func drainEndsLongStreams() async throws {
        try await withService(environment: ["SHUTDOWN_GRACE_SECONDS": "0.3"]) { service in
            let silent = Task { try await service.stream(agent: "FSILENT") }
            #expect(try await eventually { service.service.streams.count == 1 })
            await service.group.triggerGracefulShutdown()
            let ended = try await silent.value
            ended.checkInvariants()
            #expect(ended.last?["error_code"] == .string("server_shutting_down"))
            #expect(ended.last?["retryable"] == .bool(true))
        }
    }
}
