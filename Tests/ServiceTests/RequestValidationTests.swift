import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

@testable import AgentStreamingService
@testable import MockBedrock

/// Requests refused before any stream: HTTP status and `{error_code, message, request_id}`.
@Suite("Request validation", .timeLimit(.minutes(2)))
struct RequestValidationTests {
    @Test("a bad body is refused over HTTP with 400, its request id, and no call to Bedrock")
    func badBodyOverHTTP() async throws {
        // Every refusal's rule and message is tested on StreamRequest itself (StreamRequestTests).
        try await withService { service in
            for body in [#"{"input_text": "Hi", "agent_id": "NOT VALID"}"#, "{not json"] {
                let result = try await service.stream(body)
                #expect(result.status == 400)
                #expect(result.json?["request_id"]?.stringValue == result.headers.first(name: "x-request-id"))
            }
            #expect(service.mock.statistics.invocations == 0)
        }
    }

    @Test("input_text longer than MAX_INPUT_CHARS")
    func tooLongInput() async throws {
        try await withService(environment: ["MAX_INPUT_CHARS": "10"]) { service in
            let result = try await service.stream(#"{"input_text": "ünïcödé ok", "agent_id": "HELLO"}"#)
            #expect(result.status == 200, "10 characters, more bytes")
            let long = try await service.stream(#"{"input_text": "eleven char", "agent_id": "HELLO"}"#)
            #expect(long.status == 400)
            #expect(long.json?["message"]?.stringValue?.contains("at most 10 characters") == true)
        }
    }

    @Test("a body over MAX_REQUEST_BYTES is 413")
    func tooLarge() async throws {
        try await withService(environment: ["MAX_REQUEST_BYTES": "2048"]) { service in
            let padding = String(repeating: "x", count: 3000)
            let result = try await service.stream(#"{"input_text": "\#(padding)", "agent_id": "HELLO"}"#)
            #expect(result.status == 413)
            #expect(result.json?["error_code"] == .string("request_too_large"))
        }
    }

    @Test("a body that is not JSON by its content type is 415")
    func notJSON() async throws {
        try await withService { service in
            let result = try await service.stream(#"{"input_text": "Hi", "agent_id": "HELLO"}"#, headers: [("Content-Type", "text/plain")])
            #expect(result.status == 415)
            #expect(result.json?["error_code"] == .string("unsupported_media_type"))
            let charset = try await service.stream(
                #"{"input_text": "Hi", "agent_id": "HELLO"}"#,
                headers: [("Content-Type", "application/json; charset=utf-8")]
            )
            #expect(charset.status == 200)
        }
    }

    @Test(
        "the JSON media type is recognised with parameters, whitespace before them and any case",
        arguments: [
            ("application/json", true), ("Application/JSON", true), ("application/json;charset=utf-8", true),
            ("application/json \t; charset=utf-8", true), ("application/jsonl", false), ("text/json", false),
            ("application/json-patch+json", false), ("", false), (";", false),
        ]
    )
    func jsonMediaType(contentType: String, isJSON: Bool) {
        #expect(StreamRoute.isJSON(contentType) == isJSON)
    }

    @Test("unknown paths are 404 and wrong methods 405, both in the API's error format")
    func routing() async throws {
        try await withService { service in
            let missing = try await service.get("/api/agent/nothing")
            #expect(missing.status == 404)
            #expect(missing.json?["error_code"] == .string("not_found"))
            let wrongMethod = try await service.get("/api/agent/stream")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.headers.first(name: "allow") == "POST")
            #expect(wrongMethod.json?["error_code"] == .string("method_not_allowed"))
        }
    }

    @Test("an agent outside ALLOWED_AGENT_IDS is 403")
    func allowList() async throws {
        try await withService(environment: ["ALLOWED_AGENT_IDS": "HELLO, CITED"]) { service in
            #expect(try await service.stream(agent: "HELLO").status == 200)
            let refused = try await service.stream(agent: "SLOW")
            #expect(refused.status == 403)
            #expect(refused.json?["error_code"] == .string("agent_not_allowed"))
            #expect(service.mock.statistics.invocations == 1)
        }
    }

    @Test("at MAX_CONCURRENT_STREAMS a new stream is 503 with Retry-After")
    func concurrencyLimit() async throws {
        try await withService(environment: ["MAX_CONCURRENT_STREAMS": "1"]) { service in
            let slow = Task {
                try await service.stream(agent: "SLOW")
            }
            #expect(try await eventually { service.service.streams.count == 1 })
            let refused = try await service.stream(agent: "HELLO")
            #expect(refused.status == 503)
            #expect(refused.headers.first(name: "retry-after") == "1")
            #expect(refused.json?["error_code"] == .string("too_many_streams"))
            #expect(try await slow.value.last?["type"] == .string("completion"))
            #expect(try await service.stream(agent: "HELLO").status == 200, "room again once the first ended")
        }
    }

    @Test("a sane X-Request-ID is honoured, an unsafe one replaced")
    func requestIds() async throws {
        try await withService { service in
            let honoured = try await service.stream(
                #"{"input_text": "Hi", "agent_id": "HELLO"}"#,
                headers: [("Content-Type", "application/json"), ("X-Request-ID", "frontend-42.abc")]
            )
            #expect(honoured.headers.first(name: "x-request-id") == "frontend-42.abc")
            #expect(honoured.lines.first?["request_id"] == .string("frontend-42.abc"))
            let replaced = try await service.get("/health", headers: [("X-Request-ID", "bad id\" injected")])
            #expect(replaced.headers.first(name: "x-request-id") != "bad id\" injected")
            #expect(replaced.headers.first(name: "x-request-id")?.isEmpty == false)
        }
    }
}
