import AWSAccess
import BedrockAgentRuntime
import Foundation
import NIOCore

/// A `POST /api/chat` body, as the AI SDK's `useChat` default transport sends it (`id`,
/// `messages`, `trigger`, `messageId`) with the fields a frontend adds through its `body` option
/// (`agent_id`, `agent_alias_id`, `session_attributes`, `prompt_session_attributes`,
/// `memory_id`), turned into the ``StreamRequest`` of `/api/agent/stream`, whose checks then apply
/// as they are.
///
/// - The input is the text of the last message, a user message; earlier messages are not sent
///   again, since the agent keeps the session's history.
/// - When the last message is the assistant's, holding the outputs of the tool calls the stream
///   asked for (``UIMessageStreamOutput``'s `tool-input-available`), they become
///   `returnControlInvocationResults` for their invocation, and the agent's answer goes on.
/// - In debug mode traces are asked for unless the body says `enable_trace: false`.
/// - The chat `id` is the session; an id outside Bedrock's `[0-9a-zA-Z._:-]{2,100}` is mapped to
///   one, stably (`chat-` and 64 hex digits of its SHA-256).
enum ChatRequest {
    /// The fields of the `/api/agent/stream` body equivalent to the chat body `body`.
    static func streamFields(parsing body: ByteBuffer, defaultAgentId: String?) throws(APIError) -> [String: JSONValue] {
        let fields = try StreamRequest.jsonObject(body)
        guard case .string(let chatId)? = fields["id"], !chatId.isEmpty else {
            throw .invalidField("id", "(the chat id) is required")
        }
        guard case .array(let messages)? = fields["messages"], let last = messages.last else {
            throw .invalidField("messages", "must be a list holding at least one message")
        }
        var stream: [String: JSONValue] = [:]
        for name in ["agent_alias_id", "session_attributes", "prompt_session_attributes", "memory_id", "end_session", "enable_trace"] {
            if let value = fields[name], value != .null { stream[name] = value }
        }
        switch fields["agent_id"] {
        case .string(let agent)?: stream["agent_id"] = .string(agent)
        case nil, .null?:
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
            guard !text.allSatisfy(\.isWhitespace) else {
                throw .invalidField("messages", "end with a user message that holds no text")
            }
            stream["input_text"] = .string(text)
        case "assistant":
            let (invocationId, results) = try Self.toolResults(parts)
            stream["invocation_id"] = .string(invocationId)
            stream["return_control_invocation_results"] = .array(results)
        default:
            throw .invalidField("messages", "must end with a user message (or an assistant message with tool outputs)")
        }
        return stream
    }

    /// The chat id as a Bedrock session id.
    static func sessionId(forChat chatId: String) -> String {
        if BedrockIdentifier.sessionId.violation(in: chatId) == nil { return chatId }
        return "chat-" + Hashing.hex(Hashing.sha256(Array(chatId.utf8)))
    }

    /// The invocation results of the tool outputs in an assistant message's parts.
    private static func toolResults(_ parts: [JSONValue]) throws(APIError) -> (String, [JSONValue]) {
        var invocationId: String?
        var results: [(Int, JSONValue)] = []
        for part in parts {
            guard let type = part["type"]?.stringValue, type == "dynamic-tool" || type.hasPrefix("tool-") else { continue }
            let callId = part["toolCallId"]?.stringValue ?? ""
            guard let hash = callId.lastIndex(of: "#"), let index = Int(callId[callId.index(after: hash)...]),
                case let id = String(callId[..<hash]), !id.isEmpty
            else {
                throw .invalidField("messages", "hold a tool call '\(callId)' this service did not ask for")
            }
            if let invocationId, invocationId != id {
                throw .invalidField("messages", "answer two invocations ('\(invocationId)' and '\(id)'); answer the latest only")
            }
            invocationId = id
            let toolName = part["toolName"]?.stringValue ?? String(type.dropFirst("tool-".count))
            let state = part["state"]?.stringValue
            guard state == "output-available" || state == "output-error" else {
                throw .invalidField("messages", "hold the tool call '\(callId)' without its output (state \(state ?? "none"))")
            }
            let failed = state == "output-error"
            let output = failed ? (part["errorText"]?.stringValue ?? "error") : Self.text(of: part["output"] ?? .null)
            guard let result = Self.result(toolName: toolName, output: output, failed: failed) else {
                throw .invalidField("messages", "hold the tool call '\(callId)' for a tool '\(toolName)' this service did not ask for")
            }
            results.append((index, result))
        }
        guard let invocationId, !results.isEmpty else {
            throw .invalidField("messages", "end with an assistant message that holds no tool output")
        }
        return (invocationId, results.sorted { $0.0 < $1.0 }.map(\.1))
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
