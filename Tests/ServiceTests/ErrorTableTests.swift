import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

@testable import AgentStreamingService
@testable import MockBedrock

/// Every row of the README's error table, produced for real against MockBedrock: the code, the
/// retryable flag, and a message that never carries Bedrock's own text.
@Suite("Error table", .timeLimit(.minutes(2)))
struct ErrorTableTests {
    static let exceptions: [(BedrockException, String, String, Bool)] = [
        (.accessDenied, "ACCESS", "access_denied", false),
        (.badGateway, "BADGW", "bad_gateway", true),
        (.conflict, "CONFLICT", "conflict", true),
        (.dependencyFailed, "DEPFAIL", "dependency_failed", false),
        (.internalServer, "INTERNAL", "bedrock_internal_error", true),
        (.modelNotReady, "NOTREADY", "model_not_ready", true),
        (.resourceNotFound, "NOTFOUND", "agent_not_found", false),
        (.serviceQuotaExceeded, "QUOTA", "quota_exceeded", false),
        (.throttling, "THROTTLE", "throttled", true),
        (.validation, "VALID", "invalid_upstream_request", false),
    ]

    @Test("a modeled exception mid-stream ends the stream with its error line", arguments: exceptions)
    func midStream(exception: BedrockException, agent: String, code: String, retryable: Bool) async throws {
        try await withService { service in
            let result = try await service.stream(agent: "EX" + agent)
            result.checkInvariants()
            #expect(result.types == ["start", "chunk", "error"])
            let error = try #require(result.last)
            #expect(error["error_code"] == .string(code))
            #expect(error["retryable"] == .bool(retryable))
            #expect(error["request_id"] == result.lines[0]["request_id"])
            // Bedrock's text names the account and an ARN: it is logged, never sent.
            #expect(!result.body.contains("123456789012"))
            #expect(!result.body.contains("arn:aws"))
            #expect(service.logLines.value.contains { $0.contains("ERROR - Agent invocation failed") && $0.contains(code) })
            #expect(service.mock.statistics.invocations == 1, "never retried after an event was forwarded")
        }
    }

    @Test("a modeled exception as an HTTP error, after retries where they make sense", arguments: exceptions)
    func beforeStream(exception: BedrockException, agent: String, code: String, retryable: Bool) async throws {
        try await withService { service in
            let result = try await service.stream(agent: "HT" + agent)
            result.checkInvariants()
            #expect(result.types == ["start", "error"])
            #expect(result.last?["error_code"] == .string(code))
            #expect(result.last?["retryable"] == .bool(retryable))
            #expect(!result.body.contains("123456789012"))
            let retried = StreamFailure(.bedrock(exception), detail: "").isRetriedBeforeFirstEvent
            #expect(service.mock.statistics.invocations == (retried ? 3 : 1))
        }
    }

    @Test(
        "transport and protocol failures",
        arguments: [
            ("ERRFRAME", "upstream_error", false, ["start", "chunk", "error"]),
            ("FBADCRC", "upstream_protocol_error", true, ["start", "chunk", "error"]),
            ("FTRUNC", "stream_interrupted", true, ["start", "chunk", "error"]),
            ("FDROP", "stream_interrupted", true, ["start", "chunk", "error"]),
        ]
    )
    func transport(agent: String, code: String, retryable: Bool, types: [String]) async throws {
        try await withService { service in
            let result = try await service.stream(agent: agent)
            result.checkInvariants()
            #expect(result.types == types)
            #expect(result.last?["error_code"] == .string(code))
            #expect(result.last?["retryable"] == .bool(retryable))
        }
    }

    @Test("an HTTP 503 that InvokeAgent does not model is retried, then upstream_unavailable")
    func unmodeledUnavailable() async throws {
        try await withService { service in
            let result = try await service.stream(agent: "HTUNAVAIL")
            result.checkInvariants()
            #expect(result.last?["error_code"] == .string("upstream_unavailable"))
            #expect(result.last?["retryable"] == .bool(true))
            #expect(service.mock.statistics.invocations == 3)
        }
    }

    @Test("a connection dropped before any event is retried, then reported")
    func droppedBeforeAnyEvent() async throws {
        try await withService { service in
            let result = try await service.stream(agent: "FDROPEARLY")
            #expect(result.types == ["start", "error"])
            #expect(result.last?["error_code"] == .string("stream_interrupted"))
            #expect(service.mock.statistics.invocations == 3)
        }
    }

    @Test("throttling before the first event is retried with backoff until it succeeds")
    func retriedUntilSuccess() async throws {
        try await withService { service in
            let result = try await service.stream(agent: "FLAKY")
            result.checkInvariants()
            #expect(result.last?["final_content"] == .string("Answered after retries."))
            #expect(service.mock.statistics.invocations == 3)
            #expect(service.logLines.value.filter { $0.contains("WARNING - Retrying InvokeAgent") }.count == 2)
            let metrics = try await service.get("/metrics")
            #expect(metrics.body.contains("agent_upstream_retries_total 2"))
        }
    }

    @Test(
        "a retry starts afresh: no byte of the broken attempt, and the first-event limit again, not the idle one",
        arguments: ["60", "0.4"]
    )
    func retryStartsAfresh(idleTimeout: String) async throws {
        // The first attempt sends the first byte of 'é', then drops; the retry is silent for
        // 600 ms, then answers. Before, the answer began with U+FFFD (the stale byte) or, with an
        // idle limit under 600 ms, the stream ended in idle_timeout.
        try await withService(environment: ["IDLE_TIMEOUT_SECONDS": idleTimeout]) { service in
            let result = try await service.stream(agent: "RETRYSPLIT")
            result.checkInvariants()
            #expect(result.last?["type"] == .string("completion"), "\(result.body)")
            #expect(result.last?["final_content"] == .string("Answered on the retry."))
            #expect(result.lines.first { $0["type"] == .string("chunk") }?["content"] == .string("Answered on the retry."))
            #expect(service.mock.statistics.invocations == 2)
        }
    }

    @Test("UPSTREAM_MAX_ATTEMPTS=1 turns retries off")
    func noRetries() async throws {
        try await withService(environment: ["UPSTREAM_MAX_ATTEMPTS": "1"]) { service in
            let result = try await service.stream(agent: "FLAKY")
            #expect(result.last?["error_code"] == .string("throttled"))
            #expect(service.mock.statistics.invocations == 1)
        }
    }

    @Test("no agent answers in time: first_event_timeout, and the Bedrock request is cancelled")
    func firstEventTimeout() async throws {
        try await withService(environment: ["FIRST_EVENT_TIMEOUT_SECONDS": "1"]) { service in
            let result = try await service.stream(agent: "FSILENT")
            result.checkInvariants()
            #expect(result.types == ["start", "error"])
            #expect(result.last?["error_code"] == .string("first_event_timeout"))
            // Every call the mock began answering is cut, none left open. On a loaded machine (CI)
            // the timeout can come before the call was even sent (the connection still being made),
            // and then the mock began none; it looks at a stalled client every half second.
            #expect(
                try await eventually(within: 20) {
                    let statistics = service.mock.statistics
                    return statistics.streamsStarted == statistics.streamsInterrupted && statistics.streamsStarted <= 1
                }
            )
            #expect(service.mock.statistics.streamsCompleted == 0)
        }
    }

    @Test("an agent that goes quiet mid-answer: idle_timeout")
    func idleTimeout() async throws {
        try await withService(environment: ["IDLE_TIMEOUT_SECONDS": "0.3"]) { service in
            let result = try await service.stream(agent: "FSTALL")
            result.checkInvariants()
            #expect(result.types == ["start", "chunk", "error"])
            #expect(result.last?["error_code"] == .string("idle_timeout"))
        }
    }

    @Test("an answer longer than allowed: stream_timeout")
    func streamTimeout() async throws {
        // SLOW takes 1.8 s at the least (nine pauses of 200 ms): 1.5 s leaves time for a chunk on a
        // loaded machine and still ends the stream early.
        try await withService(environment: ["STREAM_TIMEOUT_SECONDS": "1.5"]) { service in
            let result = try await service.stream(agent: "SLOW")
            result.checkInvariants()
            #expect(result.last?["error_code"] == .string("stream_timeout"))
            #expect(result.types.filter { $0 == "chunk" }.count >= 1)
        }
    }

    @Test("Bedrock unreachable: retried, then upstream_unreachable")
    func unreachable() async throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let closedPort = refusing.port
        try await withService(environment: ["AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME": "http://127.0.0.1:\(closedPort)"]) { service in
            let result = try await service.stream(agent: "HELLO")
            result.checkInvariants()
            #expect(result.last?["error_code"] == .string("upstream_unreachable"))
            #expect(result.last?["retryable"] == .bool(true))
            #expect(service.logLines.value.filter { $0.contains("Retrying InvokeAgent") }.count == 2)
        }
    }

    @Test("no usable credentials: credentials_unavailable")
    func credentialsUnavailable() async throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let closedPort = refusing.port
        let environment = [
            "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(closedPort)/v2/credentials/task",
        ]
        try await withService(environment: environment) { service in
            let result = try await service.stream(agent: "HELLO")
            result.checkInvariants()
            #expect(result.last?["error_code"] == .string("credentials_unavailable"))
            #expect(service.mock.statistics.invocations == 0)
        }
    }

    @Test("a connect timeout and a read timeout map to their own codes")
    func timeoutMapping() {
        let connect = StreamFailure.transport(HTTPClientError.connectTimeout, afterHead: false) as? StreamFailure
        #expect(connect?.errorCode == "upstream_connect_timeout")
        let channel = StreamFailure.transport(ChannelError.connectTimeout(.seconds(5)), afterHead: false) as? StreamFailure
        #expect(channel?.errorCode == "upstream_connect_timeout")
        let cut = StreamFailure.transport(HTTPClientError.remoteConnectionClosed, afterHead: true) as? StreamFailure
        #expect(cut?.errorCode == "stream_interrupted")
        #expect(StreamFailure.transport(CancellationError(), afterHead: true) is CancellationError)
    }
}
