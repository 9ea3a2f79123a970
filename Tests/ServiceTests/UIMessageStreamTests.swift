import AgentRequest
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

/// The assistant message `useChat` keeps: its parts, in order, across continued answers.
func assistantMessage(_ parts: [String]) -> String {
    #"{"id":"a1","role":"assistant","parts":[\#(parts.joined(separator: ","))]}"#
}

/// A tool call the frontend answered with `addToolResult`.
func toolOutput(_ callId: String, _ toolName: String, _ output: String) -> String {
    #"{"type":"dynamic-tool","toolName":"\#(toolName)","toolCallId":"\#(callId)","state":"output-available","input":{},"output":"\#(output)"}"#
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
            let answered = assistantMessage([#"{"type":"step-start"}"#, toolOutput(callId, "WeatherActions/get_weather", "15 degrees, raining")])
            let second = try await service.chat(chatBody(id: "weather-chat", agent: "RETCTRL", messages: [question, answered]))
            let parts = try #require(second.uiParts)
            #expect(UIMessagePart.problems(parts) == [])
            #expect(second.uiText == "It is 15 degrees and raining in Seattle.")
            // The chat id is the session: the mock resumed the paused session.
            #expect(service.mock.invocations.last?.sessionId == "weather-chat")
        }
    }

    @Test("an invocation's outputs sent again are a 400 naming it, through both routes; the agent is not called again")
    func answeredTwice() async throws {
        try await withService { service in
            let question = userMessage("Weather?")
            let first = try #require(try await service.chat(chatBody(id: "twice", agent: "RETCTRL", messages: [question])).uiParts)
            let callId = try #require(first.first { $0["type"] == "tool-input-available" }?["toolCallId"]?.stringValue)
            let invocationId = String(callId.prefix { $0 != "#" })
            let body = chatBody(
                id: "twice",
                agent: "RETCTRL",
                messages: [question, assistantMessage([toolOutput(callId, "WeatherActions/get_weather", "15")])]
            )
            #expect(try await service.chat(body).uiText == "It is 15 degrees and raining in Seattle.")
            let calls = service.mock.statistics.invocations
            let again = try await service.chat(body)
            #expect(again.status == 400)
            #expect(
                again.json?["message"]?.stringValue?.contains(
                    "answer the invocation '\(invocationId)', which is stale: its results were already sent"
                ) == true,
                "\(again.body)"
            )
            #expect(service.mock.statistics.invocations == calls)

            // The NDJSON contract's results, likewise.
            let ask = try await service.stream(#"{"input_text": "Weather?", "agent_id": "RETCTRL", "session_id": "twice-ndjson"}"#)
            let asked = try #require(ask.lines.first { $0["type"] == "return_control" }?["invocation_id"]?.stringValue)
            let results = """
                {"agent_id": "RETCTRL", "session_id": "twice-ndjson", "invocation_id": "\(asked)",
                 "return_control_invocation_results": [{"functionResult": {"actionGroup": "WeatherActions", "function": "get_weather",
                   "responseBody": {"TEXT": {"body": "15"}}}}]}
                """
            #expect(try await service.stream(results).last?["type"] == "completion")
            let refused = try await service.stream(results)
            #expect(refused.status == 400)
            #expect(
                refused.json?["message"]?.stringValue?.hasPrefix("invocation_id names the invocation '\(asked)', which is stale") == true,
                "\(refused.body)"
            )
            #expect(service.mock.statistics.invocations == calls + 2)
        }
    }

    @Test("two returns of control in one answer: the continued message's latest outputs go on; incomplete or stale ones are refused")
    func twoReturnsOfControl() async throws {
        try await withService { service in
            let question = userMessage("Trip weather?")
            let first = try #require(try await service.chat(chatBody(id: "trip", agent: "RETCTRL2", messages: [question])).uiParts)
            let weather = try #require(first.first { $0["type"] == "tool-input-available" }?["toolCallId"]?.stringValue)
            let answeredWeather = [#"{"type":"step-start"}"#, toolOutput(weather, "WeatherActions/get_weather", "rain")]

            let second = try await service.chat(chatBody(id: "trip", agent: "RETCTRL2", messages: [question, assistantMessage(answeredWeather)]))
            let parts = try #require(second.uiParts)
            #expect(UIMessagePart.problems(parts) == [])
            #expect(second.uiText == "Checking the forecast too. ")
            let calls = parts.filter { $0["type"] == "tool-input-available" }
            #expect(calls.map { $0["toolName"]?.stringValue } == ["WeatherActions/get_forecast", "TravelApi/GET /trips/{tripId}"])
            #expect(calls.first?["input"] == ["city": "Oslo", "days": "2"])
            #expect(calls.last?["input"]?["tripId"] == "T-42")
            #expect(parts.last?["finishReason"] == "tool-calls")
            let ids = calls.compactMap { $0["toolCallId"]?.stringValue }
            #expect(ids.count == 2 && ids[0] != weather && ids[0].prefix { $0 != "#" } == ids[1].prefix { $0 != "#" })

            let invocations = service.mock.statistics.invocations
            let stale = try await service.chat(chatBody(id: "trip", agent: "RETCTRL2", messages: [question, assistantMessage(answeredWeather)]))
            #expect(stale.status == 400)
            #expect(stale.json?["message"]?.stringValue?.contains(String(weather.prefix { $0 != "#" })) == true, "\(stale.body)")

            let continued = answeredWeather + [#"{"type":"step-start"}"#, #"{"type":"text","text":"Checking the forecast too. "}"#]
            let forecast = toolOutput(ids[0], "WeatherActions/get_forecast", "rain, then sun")
            let incomplete = try await service.chat(
                chatBody(id: "trip", agent: "RETCTRL2", messages: [question, assistantMessage(continued + [forecast])])
            )
            #expect(incomplete.status == 400)
            #expect(incomplete.json?["message"]?.stringValue?.contains("lack the output of the tool call '\(ids[1])'") == true, "\(incomplete.body)")
            let misnamed = try await service.chat(
                chatBody(
                    id: "trip",
                    agent: "RETCTRL2",
                    messages: [question, assistantMessage(continued + [forecast, toolOutput(ids[1], "TravelApi/POST /trips", "{}")])]
                )
            )
            #expect(misnamed.status == 400)
            #expect(misnamed.json?["message"]?.stringValue?.contains("but the agent asked for 'TravelApi/GET /trips/{tripId}'") == true)
            #expect(service.mock.statistics.invocations == invocations, "no refused request reached the agent")

            let trip = toolOutput(ids[1], "TravelApi/GET /trips/{tripId}", "booked")
            let last = try await service.chat(
                chatBody(id: "trip", agent: "RETCTRL2", messages: [question, assistantMessage(continued + [trip, forecast])])
            )
            #expect(UIMessagePart.problems(try #require(last.uiParts)) == [])
            #expect(last.uiText == "Rain today, sun tomorrow: pack for both on trip T-42.")
            #expect(last.uiParts?.last?["finishReason"] == "stop")
            // What Bedrock got: the invocation's results in input order, an API operation's as apiResult.
            let sent = try #require(service.mock.invocations.last)
            #expect(sent.invocationId == String(ids[0].prefix { $0 != "#" }))
            let results = sent.returnControlInvocationResults ?? []
            #expect(results.first?["functionResult"]?["function"] == "get_forecast")
            #expect(results.first?["functionResult"]?["responseBody"]?["TEXT"]?["body"] == "rain, then sun")
            #expect(
                results.last?["apiResult"]
                    == [
                        "actionGroup": "TravelApi", "httpMethod": "GET", "apiPath": "/trips/{tripId}", "httpStatusCode": .number(200),
                        "responseBody": ["application/json": ["body": "booked"]],
                    ]
            )
        }
    }

    @Test("tasks share nothing: outputs for an invocation another task asked for go on to Bedrock, which refuses a stale one")
    func acrossTasks() async throws {
        try await withService { first in
            try await withService(environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:\(first.mockPort)"]) { second in
                let question = userMessage("Weather?")
                let asked = try #require(try await first.chat(chatBody(id: "shared", agent: "RETCTRL", messages: [question])).uiParts)
                let callId = try #require(asked.first { $0["type"] == "tool-input-available" }?["toolCallId"]?.stringValue)
                let body = chatBody(
                    id: "shared",
                    agent: "RETCTRL",
                    messages: [question, assistantMessage([toolOutput(callId, "WeatherActions/get_weather", "15")])]
                )
                #expect(try await second.chat(body).uiText == "It is 15 degrees and raining in Seattle.", "the task that never saw it passes it on")
                #expect(try await second.chat(body).status == 400, "the task that sent the results knows them answered")
                // The task that asked still thinks the invocation pending: Bedrock refuses it.
                let refused = try #require(try await first.chat(body).uiParts)
                #expect(UIMessagePart.problems(refused) == [])
                #expect(refused.filter { $0["type"] == "error" }.map { $0["errorText"] } == ["Bedrock refused the request as invalid."])
                #expect(refused.last?["finishReason"] == "error")
                #expect(first.mock.statistics.invocations == 3)
                // Results Bedrock refused leave what the task knew as it was, as would a failure before the answer.
                let session = InvokeAgentTarget(
                    agentId: "RETCTRL",
                    agentAliasId: first.service.configuration.defaultAgentAliasId,
                    sessionId: "shared"
                )
                #expect(
                    first.service.invocations.verdict(session, invocationId: String(callId.prefix { $0 != "#" }))
                        == .pending(tools: ["WeatherActions/get_weather"])
                )
            }
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
                        #"{"id":"a","role":"assistant","parts":[{"type":"dynamic-tool","toolName":"G/f","toolCallId":"one#0","state":"output-available","output":1},{"type":"dynamic-tool","toolName":"G/f","toolCallId":"one#0","state":"output-available","output":1}]}"#
                    ]
                ), "'one#0' twice"
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
