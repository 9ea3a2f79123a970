import BedrockAgentRuntime
import Foundation
import NIOCore
import Testing

@testable import AgentStreamingService

/// The NDJSON writer on its own: each event's line, field by field, as the README's table gives them.
@Suite("NDJSON output")
struct NDJSONOutputTests {
    private var output = NDJSONOutput()

    private func line(_ write: (inout NDJSONOutput, inout ByteBuffer) -> Void) throws -> JSONValue {
        var output = self.output
        var buffer = ByteBuffer()
        write(&output, &buffer)
        let text = String(buffer: buffer)
        #expect(text.hasSuffix("}\n"))
        #expect(text.dropLast().contains("\n") == false, "one line")
        let value = try StrictJSONParser.parse(Array(text.utf8.dropLast()))
        #expect(value["timestamp"]?.stringValue?.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)
        return value
    }

    private func escaped(_ text: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        Array(text.utf8).withUnsafeBytes { JSONText.writeEscaped($0, to: &buffer) }
        return buffer
    }

    @Test("the media type is NDJSON")
    func contentType() {
        #expect(self.output.contentType == "application/x-ndjson")
    }

    @Test("start: the target's ids and the request id, not done")
    func start() throws {
        let target = InvokeAgentTarget(agentId: "HELLO", agentAliasId: "TSTALIASID", sessionId: "s-1")
        let line = try self.line { $0.start(target: target, requestId: "r-1", into: &$1) }
        #expect(line["type"] == .string("start"))
        #expect(line["session_id"] == .string("s-1"))
        #expect(line["agent_id"] == .string("HELLO"))
        #expect(line["agent_alias_id"] == .string("TSTALIASID"))
        #expect(line["request_id"] == .string("r-1"))
        #expect(line["done"] == .bool(false))
    }

    @Test("chunk: content and accumulated content from escaped text, citations when given")
    func chunk() throws {
        let accumulated = self.escaped("Hello \"world\"\n")
        let content = self.escaped("\"world\"\n")
        let line = try self.line { output, buffer in
            content.withUnsafeReadableBytes { bytes in
                output.chunk(escapedContent: bytes, escapedAccumulated: accumulated, citations: [.object(["a": .number(1)])], into: &buffer)
            }
        }
        #expect(line["type"] == .string("chunk"))
        #expect(line["content"] == .string("\"world\"\n"))
        #expect(line["accumulated_content"] == .string("Hello \"world\"\n"))
        #expect(line["citations"] == .array([.object(["a": .number(1)])]))
        let plain = try self.line { output, buffer in
            content.withUnsafeReadableBytes { output.chunk(escapedContent: $0, escapedAccumulated: content, citations: nil, into: &buffer) }
        }
        #expect(plain["citations"] == nil)
    }

    @Test("trace, return control and files carry their payloads as Bedrock sent them")
    func passThrough() throws {
        let trace = try self.line { $0.trace(ByteBuffer(string: #"{"orchestrationTrace":{"x":1}}"#), into: &$1) }
        #expect(trace["trace"]?["orchestrationTrace"]?["x"] == .number(1))
        let control = InvokeAgentEvent.ReturnControl(invocationId: "id-1", invocationInputs: [.object(["f": .string("get_weather")])])
        let returned = try self.line { $0.returnControl(control, into: &$1) }
        #expect(returned["type"] == .string("return_control"))
        #expect(returned["invocation_id"] == .string("id-1"))
        #expect(returned["invocation_inputs"] == .array([.object(["f": .string("get_weather")])]))
        let files = try self.line { $0.files([.init(name: "a.csv", type: "text/csv", bytes: "YSxi")], into: &$1) }
        #expect(files["files"] == .array([.object(["name": .string("a.csv"), "type": .string("text/csv"), "bytes": .string("YSxi")])]))
    }

    @Test("completion and error are the terminal lines: done")
    func terminal() throws {
        let completion = try self.line {
            $0.completion(escapedFinalContent: self.escaped("Hi / there"), sessionId: "s-1", chunks: 2, usage: TokenUsage(), into: &$1)
        }
        #expect(completion["usage"] == nil, "no usage when the agent reported none")
        let metered = try self.line {
            $0.completion(
                escapedFinalContent: self.escaped("Hi"),
                sessionId: "s-1",
                chunks: 1,
                usage: TokenUsage(inputTokens: 12, outputTokens: 3, modelInvocations: 2),
                into: &$1
            )
        }
        #expect(metered["usage"] == ["input_tokens": .number(12), "output_tokens": .number(3), "model_invocations": .number(2)])
        #expect(completion["type"] == .string("completion"))
        #expect(completion["final_content"] == .string("Hi / there"))
        #expect(completion["session_id"] == .string("s-1"))
        #expect(completion["chunks"] == .number(2))
        #expect(completion["done"] == .bool(true))
        let error = try self.line { $0.error(StreamFailure(.bedrock(.throttling), detail: "secret ARN"), requestId: "r-1", into: &$1) }
        #expect(error["type"] == .string("error"))
        #expect(error["error_code"] == .string("throttled"))
        #expect(error["retryable"] == .bool(true))
        #expect(error["request_id"] == .string("r-1"))
        #expect(error["message"]?.stringValue?.contains("secret") == false, "Bedrock's own text stays in the log")
        #expect(error["done"] == .bool(true))
    }

    @Test("framed as Server-Sent Events: event named by type, the same object as data, a blank line; pings as comments")
    func serverSentEvents() throws {
        let lines = NDJSONOutput()
        let events = NDJSONOutput(framing: .serverSentEvents)
        #expect(events.contentType == "text/event-stream" && events.formatName == "sse" && lines.formatName == "ndjson")
        let target = InvokeAgentTarget(agentId: "HELLO", agentAliasId: "TSTALIASID", sessionId: "s-1")
        var line = ByteBuffer()
        var event = ByteBuffer()
        lines.start(target: target, requestId: "r-1", into: &line)
        events.start(target: target, requestId: "r-1", into: &event)
        let object = String(buffer: line).dropLast()
        let framed = String(buffer: event)
        #expect(framed.hasPrefix("event: start\ndata: {"))
        #expect(framed.hasSuffix("}\n\n"))
        // The same object but for its timestamp (written a moment later).
        let data = framed.dropFirst("event: start\ndata: ".count).dropLast(2)
        #expect(data.prefix(while: { $0 != "," }) == object.prefix(while: { $0 != "," }))
        #expect(try StrictJSONParser.parse(Array(data.utf8))["request_id"] == "r-1")
        var ping = ByteBuffer()
        events.heartbeat(into: &ping)
        #expect(String(buffer: ping) == ": ping\n\n")
        var none = ByteBuffer()
        lines.heartbeat(into: &none)
        #expect(none.readableBytes == 0)
    }
}
