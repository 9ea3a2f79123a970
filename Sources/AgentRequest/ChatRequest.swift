import AWSAccess
import BedrockAgentRuntime
import Foundation
import NIOCore

/// A `POST /api/chat` body, as the AI SDK's `useChat` default transport sends it (`id`,
/// `messages`, `trigger`, `messageId`) with the fields a frontend adds through its `body` option
/// (`agent_id` or `agent_runtime_arn` and `qualifier`, `agent_alias_id`, `session_attributes`,
/// `prompt_session_attributes`, `memory_id`), turned into the ``StreamRequest`` of `/api/agent/stream`, whose checks then apply
/// as they are.
///
/// - The input is the text of the last message, a user message; earlier messages are not sent
///   again, since the agent keeps the session's history.
/// - When the last message is the assistant's, holding the outputs of the tool calls the stream
///   asked for (the UI message stream's `tool-input-available`), those of its latest
///   invocation become `returnControlInvocationResults` for it, and the agent's answer goes on;
///   the service checks them against what the agent asked for.
/// - In debug mode traces are asked for unless the body says `enable_trace: false`.
/// - The chat `id` is the session; an id outside Bedrock's `[0-9a-zA-Z._:-]{2,100}` is mapped to
///   one, stably (`chat-` and 64 hex digits of its SHA-256).
public struct ChatRequest: Sendable {
    /// A tool output sent for an invocation input: the tool call's id (`invocationId#index`), the
    /// input's index and the tool it names; the service checks them against what the agent asked for.
    public struct ToolOutput: Equatable, Sendable {
        public var toolCallId: String
        public var index: Int
        public var toolName: String

        public init(toolCallId: String, index: Int, toolName: String) {
            self.toolCallId = toolCallId
            self.index = index
            self.toolName = toolName
        }
    }

    /// The fields of the `/api/agent/stream` body equivalent to the chat body.
    public var streamFields: [String: JSONValue]
    /// The tool outputs the body sends back, when it ends with the assistant's message.
    public var toolOutputs: [ToolOutput]?

    /// Reads a chat body; `defaultAgentId` serves one without `agent_id`.
    public init(body: ByteBuffer, defaultAgentId: String?) throws(RequestRefusal) {
        let fields = try StreamRequest.jsonObject(body)
        guard case .string(let chatId)? = fields["id"], !chatId.isEmpty else {
            throw .invalidField("id", "(the chat id) is required")
        }
        guard case .array(let messages)? = fields["messages"], let last = messages.last else {
            throw .invalidField("messages", "must be a list holding at least one message")
        }
        var stream: [String: JSONValue] = [:]
        for name in [
            "agent_alias_id", "agent_runtime_arn", "qualifier", "session_attributes", "prompt_session_attributes", "memory_id", "end_session",
            "enable_trace",
        ] {
            if let value = fields[name], value != .null { stream[name] = value }
        }
        switch fields["agent_id"] {
        case .string(let agent)?: stream["agent_id"] = .string(agent)
        case nil, .null?:
            // An AgentCore runtime named by its ARN needs no agent id.
            if stream["agent_runtime_arn"] != nil { break }
            guard let defaultAgentId else {
                throw .invalidField("agent_id", "is required (send it in useChat's body option, or set DEFAULT_AGENT_ID)")
            }
            stream["agent_id"] = .string(defaultAgentId)
        default: throw .invalidField("agent_id", "must be a string")
        }
        stream["session_id"] = .string(Self.sessionId(forChat: chatId))
        // Traces are shown as reasoning and data parts in debug mode (and never requested outside it).
        if stream["enable_trace"] == nil { stream["enable_trace"] = .bool(true) }

        let role = last["role"]?.stringValue
        let parts = last["parts"]?.arrayValue ?? []
        switch role {
        case "user":
            let text = parts.compactMap { $0["type"] == "text" ? $0["text"]?.stringValue : nil }.joined(separator: "\n")
            guard !StreamRequest.isBlank(text) else {
                throw .invalidField("messages", "end with a user message that holds no text")
            }
            stream["input_text"] = .string(text)
            self.toolOutputs = nil
        case "assistant":
            let (invocationId, outputs) = try Self.toolOutputs(parts)
            stream["invocation_id"] = .string(invocationId)
            stream["return_control_invocation_results"] = .array(outputs.map(\.result))
            self.toolOutputs = outputs.map(\.output)
        default:
            throw .invalidField("messages", "must end with a user message (or an assistant message with tool outputs)")
        }
        self.streamFields = stream
    }

    /// The chat id as a Bedrock session id.
    public static func sessionId(forChat chatId: String) -> String {
        if BedrockIdentifier.sessionId.violation(in: chatId) == nil { return chatId }
        return "chat-" + Hashing.hex(Hashing.sha256(Array(chatId.utf8)))
    }

    /// The outputs of the latest invocation's tool calls in an assistant message's parts, and
    /// their invocation results. The message holds the tool calls of every step of the answer
    /// (`useChat` appends a continued answer to the same message); those of earlier invocations
    /// were answered before.
    private static func toolOutputs(_ parts: [JSONValue]) throws(RequestRefusal) -> (String, [(output: ToolOutput, result: JSONValue)]) {
        var calls: [(invocationId: String, part: JSONValue, output: ToolOutput)] = []
        for part in parts {
            guard let type = part["type"]?.stringValue, type == "dynamic-tool" || type.hasPrefix("tool-") else { continue }
            let callId = part["toolCallId"]?.stringValue ?? ""
            guard let hash = callId.lastIndex(of: "#"), let index = Int(callId[callId.index(after: hash)...]), index >= 0,
                case let id = String(callId[..<hash]), !id.isEmpty
            else {
                throw .invalidField("messages", "hold a tool call '\(callId)' this service did not ask for")
            }
            let toolName = part["toolName"]?.stringValue ?? String(type.dropFirst("tool-".count))
            calls.append((id, part, .init(toolCallId: callId, index: index, toolName: toolName)))
        }
        guard let invocationId = calls.last?.invocationId else {
            throw .invalidField("messages", "end with an assistant message that holds no tool output")
        }
        var seen = Set<Int>()
        var outputs: [(output: ToolOutput, result: JSONValue)] = []
        for (_, part, output) in calls.filter({ $0.invocationId == invocationId }) {
            let callId = output.toolCallId
            guard seen.insert(output.index).inserted else {
                throw .invalidField("messages", "answer the tool call '\(callId)' twice")
            }
            let state = part["state"]?.stringValue
            guard state == "output-available" || state == "output-error" else {
                throw .invalidField("messages", "hold the tool call '\(callId)' without its output (state \(state ?? "none"))")
            }
            let failed = state == "output-error"
            let text = failed ? (part["errorText"]?.stringValue ?? "error") : Self.text(of: part["output"] ?? .null)
            guard let result = Self.result(toolName: output.toolName, output: text, failed: failed) else {
                throw .invalidField("messages", "hold the tool call '\(callId)' for a tool '\(output.toolName)' this service did not ask for")
            }
            outputs.append((output, result))
        }
        return (invocationId, outputs.sorted { $0.output.index < $1.output.index })
    }

    /// `functionResult` for `actionGroup/function`, `apiResult` for `actionGroup/METHOD /path`.
    private static func result(toolName: String, output: String, failed: Bool) -> JSONValue? {
        guard let slash = toolName.firstIndex(of: "/") else { return nil }
        let group = String(toolName[..<slash])
        let rest = toolName[toolName.index(after: slash)...]
        guard !group.isEmpty, !rest.isEmpty else { return nil }
        if let space = rest.firstIndex(of: " ") {
            let method = String(rest[..<space])
            let path = String(rest[rest.index(after: space)...])
            return .object([
                "apiResult": .object([
                    "actionGroup": .string(group), "httpMethod": .string(method), "apiPath": .string(path),
                    "httpStatusCode": .number(failed ? 500 : 200),
                    "responseBody": .object(["application/json": .object(["body": .string(output)])]),
                ])
            ])
        }
        var function: [String: JSONValue] = [
            "actionGroup": .string(group), "function": .string(String(rest)),
            "responseBody": .object(["TEXT": .object(["body": .string(output)])]),
        ]
        if failed { function["responseState"] = "FAILURE" }
        return .object(["functionResult": .object(function)])
    }

    /// A tool's output as the text Bedrock takes: a string as it is, anything else as JSON.
    private static func text(of output: JSONValue) -> String {
        if case .string(let text) = output { return text }
        return (try? String(decoding: JSONEncoder.sortedKeys.encode(output), as: UTF8.self)) ?? ""
    }
}
