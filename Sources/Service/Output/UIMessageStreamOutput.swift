import AgentRequest
import BedrockAgentRuntime
import Foundation
import NIOCore

/// The Vercel AI SDK's UI message stream (v1), what `useChat` reads: each part one Server-Sent
/// Event `data: <part JSON>`, then `data: [DONE]` (`../shared/spec/ai-sdk-ui-message-stream.md`).
///
/// A stream is `start`, `start-step`, the answer's parts, `finish-step`, `finish`. Text is one
/// block (`text-start`, a `text-delta` per chunk with the chunk's text only, `text-end`), so the
/// stream grows with the answer, not with its square as NDJSON's `accumulated_content` does.
/// Citations become `source-url` parts (a web or S3 location) or `source-document` parts (any
/// other); in debug mode, an orchestration rationale becomes a reasoning block and other traces
/// `data-trace` parts; files become `file` parts with data URLs; a return of control becomes one
/// `tool-input-available` part per invocation input and a `finish` with `tool-calls`; a failure an
/// `error` part with the safe message, then `finish` with `error`.
struct UIMessageStreamOutput: StreamOutput {
    var contentType: String { "text/event-stream" }
    var formatName: String { "ui-message-stream" }

    /// The text block's id, while one is open.
    private var openText: String?
    private var textBlocks = 0
    private var reasoningBlocks = 0
    private var sources = 0
    private var finishReason: StaticString = "stop"

    /// The id a `tool-input-available` part gives an invocation input: the invocation id and the
    /// input's place, which ``ChatRequest`` reads back from the tool's output.
    static func toolCallId(invocationId: String, index: Int) -> String {
        "\(invocationId)#\(index)"
    }

    /// The tool name of an invocation input: `actionGroup/function`, or `actionGroup/METHOD /path`
    /// for an API operation (Bedrock's names hold no `/` or space); `unknown` for an input of
    /// neither kind, which no output can answer.
    static func toolName(of input: JSONValue) -> String {
        if let function = input["functionInvocationInput"],
            let group = function["actionGroup"]?.stringValue, let name = function["function"]?.stringValue
        {
            return "\(group)/\(name)"
        }
        if let api = input["apiInvocationInput"], let group = api["actionGroup"]?.stringValue,
            let method = api["httpMethod"]?.stringValue, let path = api["apiPath"]?.stringValue
        {
            return "\(group)/\(method.uppercased()) \(path)"
        }
        return "unknown"
    }

    func heartbeat(into buffer: inout ByteBuffer) {
        buffer.writeStaticString(": ping\n\n")
    }

    mutating func start(target: InvokeAgentTarget, requestId: String, into buffer: inout ByteBuffer) {
        Self.part(into: &buffer) { json in
            json.writeStaticString(#"{"type":"start","messageId":"#)
            JSONText.writeString("msg-" + requestId, to: &json)
            json.writeStaticString("}")
        }
        Self.part(into: &buffer) { $0.writeStaticString(#"{"type":"start-step"}"#) }
    }

    mutating func chunk(
        escapedContent: UnsafeRawBufferPointer,
        escapedAccumulated: ByteBuffer,
        citations: [JSONValue]?,
        into buffer: inout ByteBuffer
    ) {
        if !escapedContent.isEmpty {
            let id = self.openTextBlock(into: &buffer)
            Self.part(into: &buffer) { json in
                json.writeStaticString(#"{"type":"text-delta","id":"#)
                JSONText.writeString(id, to: &json)
                json.writeStaticString(#","delta":""#)
                json.writeBytes(escapedContent)
                json.writeStaticString("\"}")
            }
        }
        for citation in citations ?? [] {
            for reference in citation["retrievedReferences"]?.arrayValue ?? [] {
                self.source(reference, into: &buffer)
            }
        }
    }

    mutating func trace(_ payload: ByteBuffer, into buffer: inout ByteBuffer) {
        let trace = try? payload.withUnsafeReadableBytes { bytes throws(StrictJSONParser.Error) in try StrictJSONParser.parse(bytes) }
        if let rationale = trace?["trace"]?["orchestrationTrace"]?["rationale"]?["text"]?.stringValue {
            self.reasoningBlocks += 1
            let id = "reasoning-\(self.reasoningBlocks)"
            Self.object(["type": "reasoning-start", "id": .string(id)], into: &buffer)
            Self.object(["type": "reasoning-delta", "id": .string(id), "delta": .string(rationale)], into: &buffer)
            Self.object(["type": "reasoning-end", "id": .string(id)], into: &buffer)
            return
        }
        Self.part(into: &buffer) { json in
            json.writeStaticString(#"{"type":"data-trace","data":"#)
            json.writeImmutableBuffer(payload)
            json.writeStaticString("}")
        }
    }

    mutating func returnControl(_ control: InvokeAgentEvent.ReturnControl, into buffer: inout ByteBuffer) {
        self.closeText(into: &buffer)
        let invocationId = control.invocationId ?? ""
        for (index, input) in (control.invocationInputs ?? []).enumerated() {
            let detail = input["functionInvocationInput"] ?? input["apiInvocationInput"]
            Self.object(
                [
                    "type": "tool-input-available",
                    "toolCallId": .string(Self.toolCallId(invocationId: invocationId, index: index)),
                    "toolName": .string(Self.toolName(of: input)),
                    "input": Self.toolInput(detail),
                    "dynamic": .bool(true),
                ],
                into: &buffer
            )
        }
        self.finishReason = "tool-calls"
    }

    mutating func files(_ files: [InvokeAgentEvent.OutputFile], into buffer: inout ByteBuffer) {
        for file in files {
            let mediaType = file.type ?? "application/octet-stream"
            var part: [String: JSONValue] = [
                "type": "file", "mediaType": .string(mediaType), "url": .string("data:\(mediaType);base64,\(file.bytes ?? "")"),
            ]
            if let name = file.name { part["providerMetadata"] = .object(["bedrock": .object(["name": .string(name)])]) }
            Self.object(part, into: &buffer)
        }
    }

    mutating func completion(escapedFinalContent: ByteBuffer, sessionId: String, chunks: Int, usage: TokenUsage, into buffer: inout ByteBuffer) {
        self.closeText(into: &buffer)
        Self.part(into: &buffer) { $0.writeStaticString(#"{"type":"finish-step"}"#) }
        let reason = self.finishReason
        Self.part(into: &buffer) { json in
            json.writeStaticString(#"{"type":"finish","finishReason":""#)
            json.writeStaticString(reason)
            json.writeStaticString("\"")
            if !usage.isEmpty {
                json.writeStaticString(#","messageMetadata":{"usage":"#)
                usage.writeJSON(to: &json)
                json.writeStaticString("}")
            }
            json.writeStaticString("}")
        }
        Self.done(into: &buffer)
    }

    mutating func error(_ failure: StreamFailure, requestId: String, into buffer: inout ByteBuffer) {
        self.closeText(into: &buffer)
        Self.object(["type": "error", "errorText": .string(failure.message)], into: &buffer)
        Self.part(into: &buffer) { $0.writeStaticString(#"{"type":"finish-step"}"#) }
        Self.part(into: &buffer) { $0.writeStaticString(#"{"type":"finish","finishReason":"error"}"#) }
        Self.done(into: &buffer)
    }

    // MARK: Parts

    private mutating func openTextBlock(into buffer: inout ByteBuffer) -> String {
        if let openText { return openText }
        self.textBlocks += 1
        let id = "text-\(self.textBlocks)"
        self.openText = id
        Self.object(["type": "text-start", "id": .string(id)], into: &buffer)
        return id
    }

    private mutating func closeText(into buffer: inout ByteBuffer) {
        guard let id = self.openText else { return }
        self.openText = nil
        Self.object(["type": "text-end", "id": .string(id)], into: &buffer)
    }

    /// A retrieved reference as a source: its web, S3 or other URL, else a document.
    private mutating func source(_ reference: JSONValue, into buffer: inout ByteBuffer) {
        self.sources += 1
        let sourceId = "source-\(self.sources)"
        let location = reference["location"]
        let url =
            location?["webLocation"]?["url"]?.stringValue ?? location?["s3Location"]?["uri"]?.stringValue
            ?? location?["confluenceLocation"]?["url"]?.stringValue ?? location?["salesforceLocation"]?["url"]?.stringValue
            ?? location?["sharePointLocation"]?["url"]?.stringValue ?? location?["kendraDocumentLocation"]?["uri"]?.stringValue
        let excerpt = reference["content"]?["text"]?.stringValue.map { String($0.prefix(200)) }
        if let url {
            var part: [String: JSONValue] = ["type": "source-url", "sourceId": .string(sourceId), "url": .string(url)]
            if let excerpt { part["title"] = .string(excerpt) }
            Self.object(part, into: &buffer)
        } else {
            Self.object(
                [
                    "type": "source-document", "sourceId": .string(sourceId), "mediaType": "text/plain",
                    "title": .string(excerpt ?? location?["type"]?.stringValue ?? "document"),
                ],
                into: &buffer
            )
        }
    }

    /// A function's parameters, `[{name, type, value}]`, as an object of name to value; an API
    /// operation's parameters and request body likewise.
    private static func toolInput(_ detail: JSONValue?) -> JSONValue {
        var input: [String: JSONValue] = [:]
        for parameter in detail?["parameters"]?.arrayValue ?? [] {
            if let name = parameter["name"]?.stringValue {
                input[name] = parameter["value"] ?? .null
            }
        }
        if let body = detail?["requestBody"] {
            input["requestBody"] = body
        }
        return .object(input)
    }

    // MARK: Framing

    /// `data: <part>` and a blank line, the part written by `write`.
    private static func part(into buffer: inout ByteBuffer, _ write: (inout ByteBuffer) -> Void) {
        buffer.writeStaticString("data: ")
        write(&buffer)
        buffer.writeStaticString("\n\n")
    }

    private static func object(_ object: [String: JSONValue], into buffer: inout ByteBuffer) {
        Self.part(into: &buffer) { json in
            json.writeBytes((try? JSONEncoder.sortedKeys.encode(object)) ?? Data("{}".utf8))
        }
    }

    private static func done(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("data: [DONE]\n\n")
    }
}
