import AsyncHTTPClient
import BedrockAgentRuntime
import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

@testable import AgentStreamingService
@testable import MockBedrock

/// The AI SDK UI message stream's parts, checked against the shapes of
/// `../shared/spec/ai-sdk-ui-message-stream.md`: required fields present with their types,
/// optional ones of the right type when present, and no type the protocol lacks.
enum UIMessagePart {
    enum Kind { case string, bool, any, object }

    /// Required and optional fields of each part type.
    static let shapes: [String: (required: [String: Kind], optional: [String: Kind])] = [
        "start": ([:], ["messageId": .string, "messageMetadata": .any]),
        "start-step": ([:], [:]), "finish-step": ([:], [:]), "reset-step": ([:], [:]),
        "text-start": (["id": .string], [:]), "text-end": (["id": .string], [:]),
        "text-delta": (["id": .string, "delta": .string], [:]),
        "reasoning-start": (["id": .string], [:]), "reasoning-end": (["id": .string], [:]),
        "reasoning-delta": (["id": .string, "delta": .string], [:]),
        "source-url": (["sourceId": .string, "url": .string], ["title": .string]),
        "source-document": (["sourceId": .string, "mediaType": .string, "title": .string], ["filename": .string]),
        "file": (["url": .string, "mediaType": .string], [:]),
        "tool-input-available": (["toolCallId": .string, "toolName": .string, "input": .any], ["dynamic": .bool, "title": .string]),
        "error": (["errorText": .string], [:]),
        "finish": ([:], ["finishReason": .string, "messageMetadata": .any]),
        "data-trace": (["data": .any], ["id": .string, "transient": .bool]),
    ]

    static let finishReasons: Set<String> = ["stop", "length", "content-filter", "tool-calls", "error", "other"]

    static func matches(_ value: JSONValue, _ kind: Kind) -> Bool {
        switch (kind, value) {
        case (.any, _), (.string, .string), (.bool, .bool), (.object, .object): true
        default: false
        }
    }

    /// The problems of a whole stream's parts; empty when it keeps the protocol.
    static func problems(_ parts: [JSONValue]) -> [String] {
        var problems: [String] = []
        var open: Set<String> = []
        var ended: Set<String> = []
        for (index, part) in parts.enumerated() {
            guard case .object(let fields) = part, let type = fields["type"]?.stringValue, let shape = Self.shapes[type] else {
                problems.append("part \(index) has no known type: \(part)")
                continue
            }
            for (name, kind) in shape.required where !(fields[name].map { Self.matches($0, kind) } ?? false) {
                problems.append("part \(index) (\(type)) lacks \(name) of its type")
            }
            for (name, kind) in shape.optional {
                if let value = fields[name], !Self.matches(value, kind) { problems.append("part \(index) (\(type)): \(name) has the wrong type") }
            }
            for name in fields.keys where name != "type" && name != "providerMetadata" && shape.required[name] == nil && shape.optional[name] == nil {
                problems.append("part \(index) (\(type)) has an unknown field \(name)")
            }
            let id = fields["id"]?.stringValue ?? ""
            switch type {
            case "text-start", "reasoning-start":
                if !open.insert(id).inserted || ended.contains(id) { problems.append("\(id) started twice") }
            case "text-delta", "reasoning-delta":
                if !open.contains(id) { problems.append("a delta for \(id), which is not open") }
            case "text-end", "reasoning-end":
                if open.remove(id) == nil { problems.append("\(id) ended without being open") }
                ended.insert(id)
            case "finish":
                if let reason = fields["finishReason"]?.stringValue, !Self.finishReasons.contains(reason) {
                    problems.append("finishReason \(reason)")
                }
            default: break
            }
        }
        if !open.isEmpty { problems.append("never ended: \(open.sorted())") }
        let types = parts.map { $0["type"]?.stringValue ?? "?" }
        if types.first != "start" || types.dropFirst().first != "start-step" { problems.append("does not begin start, start-step: \(types)") }
        if types.suffix(2) != ["finish-step", "finish"] { problems.append("does not end finish-step, finish: \(types)") }
        return problems
    }
}

extension StreamResult {
    /// The parts of a UI message stream; `nil` unless it ends with `data: [DONE]`.
    var uiParts: [JSONValue]? {
        let events = EventStreamParser(parsing: self.body).events
        guard events.allSatisfy({ $0.event == "message" }), events.last?.data == "[DONE]" else { return nil }
        return events.dropLast().compactMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.data.utf8)) }
    }

    var uiText: String {
        (self.uiParts ?? []).filter { $0["type"] == "text-delta" }.compactMap { $0["delta"]?.stringValue }.joined()
    }
}

extension TestService {
    func chat(_ body: String) async throws -> StreamResult {
        try await self.stream(body, headers: [("Content-Type", "application/json")], path: "/api/chat")
    }

    func stream(_ body: String, headers: [(String, String)], path: String) async throws -> StreamResult {
        let response = try await HTTPClient.shared.execute(self.request(body, path: path, headers: headers), timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 24)
        return StreamResult(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }
}

/// A chat body as `useChat`'s default transport sends it, with `agent_id` from its `body` option.
func chatBody(id: String, agent: String?, messages: [String]) -> String {
    let agentField = agent.map { #","agent_id":"\#($0)""# } ?? ""
    return #"{"id":"\#(id)","messages":[\#(messages.joined(separator: ","))],"trigger":"submit-message"\#(agentField)}"#
}

func userMessage(_ text: String) -> String {
    #"{"id":"u\#(UUID().uuidString.prefix(8))","role":"user","parts":[{"type":"text","text":"\#(text)"}]}"#
}

@Suite("POST /api/chat: the AI SDK UI message stream", .timeLimit(.minutes(2)))
struct UIMessageStreamTests {
    @Test(
        "every kind of fixture: the protocol's parts and headers, text deltas joined equal NDJSON's final content",
        arguments: ["HELLO", "CITED", "FILES", "TRACED", "UTF8SPLIT", "SLOW", "CAPKB", "CAPMULTI", "CAPSIMPLE", "EXTHROTTLE", "FTRUNC"]
    )
    func fixtures(agent: String) async throws {
        try await withService(environment: ["DEBUG_MODE": "true"]) { service in
            let chat = try await service.chat(chatBody(id: "chat-\(agent)", agent: agent, messages: [userMessage("Hi")]))
            #expect(chat.status == 200)
            #expect(chat.headers.first(name: "x-vercel-ai-ui-message-stream") == "v1")
            #expect(chat.headers.first(name: "content-type") == "text/event-stream")
            #expect(chat.headers.first(name: "cache-control")?.hasPrefix("no-cache") == true)
            #expect(chat.headers.first(name: "x-accel-buffering") == "no")
            let parts = try #require(chat.uiParts, "ends with data: [DONE]")
            #expect(UIMessagePart.problems(parts) == [])
            let ndjson = try await service.stream(#"{"input_text": "Hi", "agent_id": "\#(agent)", "enable_trace": true}"#)
            if ndjson.last?["type"] == "completion" {
                #expect(chat.uiText == ndjson.last?["final_content"]?.stringValue)
                #expect(parts.last?["finishReason"] == "stop")
            } else {
                #expect(parts.filter { $0["type"] == "error" }.map { $0["errorText"] } == [ndjson.last?["message"]])
                #expect(parts.last?["finishReason"] == "error")
            }
            // The chat stream grows with the answer: each delta is its chunk only.
            let deltas = parts.filter { $0["type"] == "text-delta" }.count
            let chunks = ndjson.types.filter { $0 == "chunk" }.count
            #expect(deltas <= chunks)
        }
    }

    @Test("citations become sources, files data URLs, traces (debug mode) reasoning and data-trace parts")
    func richParts() async throws {
        try await withService(environment: ["DEBUG_MODE": "true"]) { service in
            let cited = try #require(try await service.chat(chatBody(id: "c1", agent: "CITED", messages: [userMessage("Hi")])).uiParts)
            let sources = cited.filter { $0["type"] == "source-url" }
            #expect(sources.count == 2)
            #expect(sources.first?["url"] == "s3://docs-bucket/agents.md")
            #expect(Set(sources.compactMap { $0["sourceId"]?.stringValue }).count == 2)
            let files = try #require(try await service.chat(chatBody(id: "c2", agent: "FILES", messages: [userMessage("Hi")])).uiParts)
            let file = try #require(files.first { $0["type"] == "file" })
            #expect(file["url"]?.stringValue?.hasPrefix("data:\(file["mediaType"]?.stringValue ?? "?");base64,") == true)
            let traced = try #require(try await service.chat(chatBody(id: "c3", agent: "TRACED", messages: [userMessage("Hi")])).uiParts)
            #expect(traced.contains { $0["type"] == "data-trace" || $0["type"] == "reasoning-delta" })
        }
        try await withService { service in
            let traced = try #require(try await service.chat(chatBody(id: "c4", agent: "TRACED", messages: [userMessage("Hi")])).uiParts)
            #expect(!traced.contains { $0["type"] == "data-trace" || $0["type"] == "reasoning-delta" }, "no traces outside debug mode")
        }
    }

    @Test("return control as a tool call, and its output sent back: the agent's answer streams on")
    func toolCallRoundTrip() async throws {
        try await withService { service in
            let question = userMessage("Weather?")
            let first = try #require(try await service.chat(chatBody(id: "weather-chat", agent: "RETCTRL", messages: [question])).uiParts)
            #expect(UIMessagePart.problems(first) == [])
            #expect(first.last?["finishReason"] == "tool-calls")
            let call = try #require(first.first { $0["type"] == "tool-input-available" })
            #expect(call["dynamic"] == .bool(true))
            #expect(call["toolName"] == "WeatherActions/get_weather")
            #expect(call["input"]?["city"] == "Seattle")
            let callId = try #require(call["toolCallId"]?.stringValue)

            // What useChat posts after addToolResult: the assistant message with the tool's output.
            let answered = #"""
                {"id":"a1","role":"assistant","parts":[{"type":"step-start"},{"type":"dynamic-tool","toolName":"WeatherActions/get_weather","toolCallId":"\#(callId)","state":"output-available","input":{"city":"Seattle"},"output":"15 degrees, raining"}]}
                """#
            let second = try await service.chat(chatBody(id: "weather-chat", agent: "RETCTRL", messages: [question, answered]))
            let parts = try #require(second.uiParts)
            #expect(UIMessagePart.problems(parts) == [])
            #expect(second.uiText == "It is 15 degrees and raining in Seattle.")
            // The chat id is the session: the mock resumed the paused session.
            #expect(service.mock.invocations.last?.sessionId == "weather-chat")
        }
    }

    @Test(
        "refusals before a stream keep the JSON error bodies of /api/agent/stream, each naming what is wrong",
        arguments: [
            (#"{"messages":[]}"#, "id"),
            (#"{"id":"c","messages":[]}"#, "messages"),
            (chatBody(id: "c", agent: nil, messages: [userMessage("Hi")]), "agent_id"),
            (
                chatBody(
                    id: "c",
                    agent: "HELLO",
                    messages: [#"{"id":"u","role":"user","parts":[{"type":"file","url":"x","mediaType":"image/png"}]}"#]
                ), "no text"
            ),
            (chatBody(id: "c", agent: "HELLO", messages: [#"{"id":"s","role":"system","parts":[]}"#]), "must end with a user message"),
            (
                chatBody(
                    id: "c",
                    agent: "RETCTRL",
                    messages: [
                        #"{"id":"a","role":"assistant","parts":[{"type":"dynamic-tool","toolName":"G/f","toolCallId":"nonsense","state":"output-available","output":1}]}"#
                    ]
                ), "'nonsense'"
            ),
            (
                chatBody(
                    id: "c",
                    agent: "RETCTRL",
                    messages: [
                        #"{"id":"a","role":"assistant","parts":[{"type":"dynamic-tool","toolName":"G/f","toolCallId":"inv#0","state":"input-available","input":{}}]}"#
                    ]
                ), "without its output"
            ),
            (
                chatBody(
                    id: "c",
                    agent: "RETCTRL",
                    messages: [
                        #"{"id":"a","role":"assistant","parts":[{"type":"dynamic-tool","toolName":"G/f","toolCallId":"one#0","state":"output-available","output":1},{"type":"dynamic-tool","toolName":"G/f","toolCallId":"two#0","state":"output-available","output":1}]}"#
                    ]
                ), "two invocations"
            ),
            (
                chatBody(
                    id: "c",
                    agent: "RETCTRL",
                    messages: [
                        #"{"id":"a","role":"assistant","parts":[{"type":"dynamic-tool","toolName":"nogroup","toolCallId":"inv#0","state":"output-available","output":1}]}"#
                    ]
                ), "'nogroup'"
            ),
            (chatBody(id: "c", agent: "not an agent!", messages: [userMessage("Hi")]), "agent_id"),
        ]
    )
    func refusals(body: String, problem: String) async throws {
        try await withService { service in
            let refused = try await service.chat(body)
            #expect(refused.status == 400)
            #expect(refused.json?["error_code"] == "invalid_request" || refused.json?["error_code"] == "invalid_json")
            #expect(refused.json?["message"]?.stringValue?.contains(problem) == true, "\(refused.body)")
            #expect(service.mock.statistics.invocations == 0)
        }
    }

    @Test("DEFAULT_AGENT_ID serves a body without agent_id; a chat id outside Bedrock's pattern maps to one, stably")
    func defaultsAndSessions() async throws {
        try await withService(environment: ["DEFAULT_AGENT_ID": "HELLO"]) { service in
            let id = "chat with spaces & symbols"
            for _ in 0..<2 {
                let chat = try await service.chat(chatBody(id: id, agent: nil, messages: [userMessage("Hi")]))
                #expect(chat.status == 200)
                #expect(chat.uiParts?.last?["finishReason"] == "stop")
            }
            let sessions = service.mock.invocations.map(\.sessionId)
            #expect(sessions.count == 2 && sessions[0] == sessions[1])
            #expect(sessions[0] == ChatRequest.sessionId(forChat: id) && sessions[0].hasPrefix("chat-"))
        }
    }

    @Test("the resume request answers 204: there is nothing to resume")
    func resume() async throws {
        try await withService { service in
            let resume = try await service.get("/api/chat/abc123/stream")
            #expect(resume.status == 204)
            #expect(resume.body.isEmpty)
        }
    }

    @Test("a quiet chat stream gets heartbeats too, and its limits hold")
    func heartbeats() async throws {
        try await withService(environment: ["HEARTBEAT_SECONDS": "0.2", "FIRST_EVENT_TIMEOUT_SECONDS": "1"]) { service in
            let chat = try await service.chat(chatBody(id: "quiet", agent: "FSILENT", messages: [userMessage("Hi")]))
            #expect(EventStreamParser(parsing: chat.body).comments.count >= 1)
            let parts = try #require(chat.uiParts)
            #expect(parts.map { $0["type"]?.stringValue ?? "?" } == ["start", "start-step", "error", "finish-step", "finish"])
            #expect(UIMessagePart.problems(parts) == [])
        }
    }
}
