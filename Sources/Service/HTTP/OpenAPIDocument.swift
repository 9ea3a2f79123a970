import AgentRequest
import Authentication
import BedrockAgentCore
import BedrockAgentRuntime
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// `GET /openapi.json`: the API's contract as an OpenAPI 3.1 document, made once at start from
/// the configuration and from the same rules and tables the service enforces (the identifier
/// rules, `MAX_INPUT_CHARS`, the error tables, the access-control mode), so that it cannot say
/// one thing while the service does another. `Tests/Contract` checks it against the running
/// service with schemathesis and by driving every documented status.
enum OpenAPIDocument {
    /// The document for `configuration`, as JSON with sorted keys.
    static func json(configuration: ServiceConfiguration) -> ByteBuffer {
        let data = (try? JSONEncoder.sortedKeys.encode(Self.document(configuration: configuration))) ?? Data("{}".utf8)
        return ByteBuffer(data: data)
    }

    static func document(configuration: ServiceConfiguration) -> JSONValue {
        let auth = configuration.auth
        var components: [String: JSONValue] = ["schemas": .object(Self.schemas(configuration: configuration))]
        var security: [JSONValue] = []
        if auth.isRequired {
            var schemes: [String: JSONValue] = [:]
            if auth.methods.contains(.apiKey) {
                schemes["ApiKey"] = ["type": "apiKey", "in": "header", "name": "X-API-Key", "description": "A key of API_KEYS_FILE."]
                security.append(["ApiKey": []])
            }
            if auth.methods.contains(.jwt) {
                schemes["BearerToken"] = [
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": .string("An access or ID token of the issuer \(auth.jwt?.issuer ?? ""), for its audience."),
                ]
                security.append(["BearerToken": []])
            }
            components["securitySchemes"] = .object(schemes)
        }
        var paths: [String: JSONValue] = [
            "/api/agent/stream": ["post": Self.streamOperation(configuration: configuration, security: security)],
            "/api/chat": ["post": Self.chatOperation(configuration: configuration, security: security)],
            "/api/chat/{id}/stream": ["get": Self.chatResumeOperation()],
            "/health": ["get": Self.healthOperation()],
            "/": ["get": Self.infoOperation()],
            "/metrics": ["get": Self.metricsOperation()],
            "/openapi.json": ["get": Self.documentOperation()],
            "/client/agent-stream.js": ["get": Self.fileOperation("The browser client library, an ES module.", type: "text/javascript")],
            "/client/agent-stream.d.ts": ["get": Self.fileOperation("The client library's TypeScript declarations.", type: "application/typescript")],
        ]
        if configuration.playgroundEnabled {
            paths["/playground"] = ["get": Self.fileOperation("The chat playground page.", type: "text/html")]
        }
        return [
            "openapi": "3.1.1",
            "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
            "info": [
                "title": "Bedrock Agent Streaming API",
                "version": .string(ServiceVersion.current),
                "description": """
                Streams Amazon Bedrock agent (and AgentCore Runtime) answers to web and mobile \
                frontends: newline-delimited JSON or Server-Sent Events on /api/agent/stream, the AI \
                SDK's UI message stream on /api/chat. Every stream that starts (200) ends with exactly \
                one terminal line: a completion or an error.
                """,
            ],
            "servers": [["url": "/"]],
            "paths": .object(paths),
            "components": .object(components),
        ]
    }

    // MARK: Operations

    private static func streamOperation(configuration: ServiceConfiguration, security: [JSONValue]) -> JSONValue {
        var operation: JSONValue = [
            "operationId": "streamAgent",
            "summary": "Stream an agent's answer.",
            "description": """
            The answer as newline-delimited JSON (the default) or as Server-Sent Events when \
            Accept names text/event-stream at least as highly: one object per line (or per event, \
            whose name is the object's type), each with done and timestamp. The first is start, \
            the last completion or error; nothing follows it.
            """,
            "requestBody": Self.jsonBody("StreamRequest"),
            "responses": .object(
                Self.errorResponses(configuration: configuration, protected: true).merging([
                    "200": [
                        "description": "The stream. Errors after it started are its terminal error line.",
                        "headers": .object(Self.streamHeaders),
                        "content": [
                            "application/x-ndjson": [
                                "schema": ["type": "string", "description": "Lines of JSON, each a StreamLine."],
                                "x-line-schema": Self.ref("StreamLine"),
                            ],
                            "text/event-stream": [
                                "schema": [
                                    "type": "string",
                                    "description":
                                        "Server-Sent Events: event is the line's type, data the StreamLine; `: ping` comments keep a quiet stream open.",
                                ],
                                "x-event-schema": Self.ref("StreamLine"),
                            ],
                        ],
                    ]
                ]) { a, _ in a }
            ),
        ]
        if !security.isEmpty { operation = Self.with(operation, "security", .array(security)) }
        return operation
    }

    private static func chatOperation(configuration: ServiceConfiguration, security: [JSONValue]) -> JSONValue {
        var operation: JSONValue = [
            "operationId": "chat",
            "summary": "Stream an answer in the AI SDK's UI message stream protocol (useChat).",
            "description": """
            useChat's request body; the answer as the UI message stream (x-vercel-ai-ui-message-stream: v1): \
            Server-Sent Events whose data are UIMessagePart objects, ending with data: [DONE].
            """,
            "requestBody": Self.jsonBody("ChatRequest"),
            "responses": .object(
                Self.errorResponses(configuration: configuration, protected: true).merging([
                    "200": [
                        "description": "The UI message stream.",
                        "headers": .object(
                            Self.streamHeaders.merging(["x-vercel-ai-ui-message-stream": ["schema": ["type": "string", "const": "v1"]]]) { a, _ in a }
                        ),
                        "content": [
                            "text/event-stream": [
                                "schema": ["type": "string", "description": "data: lines, each a UIMessagePart, then data: [DONE]."],
                                "x-event-schema": Self.ref("UIMessagePart"),
                            ]
                        ],
                    ]
                ]) { a, _ in a }
            ),
        ]
        if !security.isEmpty { operation = Self.with(operation, "security", .array(security)) }
        return operation
    }

    private static func chatResumeOperation() -> JSONValue {
        [
            "operationId": "resumeChat",
            "summary": "The AI SDK's resume request: there is no stream to resume.",
            "parameters": [["name": "id", "in": "path", "required": .bool(true), "schema": ["type": "string"]]],
            "responses": ["204": ["description": "Nothing to resume."]],
        ]
    }

    private static func healthOperation() -> JSONValue {
        [
            "operationId": "health",
            "summary": "The service's health, for load balancers and ECS.",
            "responses": [
                "200": ["description": "healthy or degraded: the service answers.", "content": ["application/json": ["schema": Self.ref("Health")]]],
                "503": ["description": "unhealthy: shutting down.", "content": ["application/json": ["schema": Self.ref("Health")]]],
            ],
        ]
    }

    private static func infoOperation() -> JSONValue {
        [
            "operationId": "info",
            "summary": "What the service is and its endpoints.",
            "responses": ["200": ["description": "The service.", "content": ["application/json": ["schema": Self.ref("ServiceInfo")]]]],
        ]
    }

    private static func metricsOperation() -> JSONValue {
        [
            "operationId": "metrics",
            "summary": "Prometheus metrics.",
            "responses": [
                "200": [
                    "description": "The text exposition format.",
                    "content": ["text/plain": ["schema": ["type": "string"]]],
                ]
            ],
        ]
    }

    private static func documentOperation() -> JSONValue {
        [
            "operationId": "openapi",
            "summary": "This document.",
            "responses": ["200": ["description": "The OpenAPI document.", "content": ["application/json": ["schema": ["type": "object"]]]]],
        ]
    }

    private static func fileOperation(_ summary: String, type: String) -> JSONValue {
        [
            "summary": .string(summary),
            "parameters": [
                [
                    "name": "If-None-Match", "in": "header", "required": .bool(false), "schema": ["type": "string"],
                    "description": "The ETag of a copy the client has.",
                ]
            ],
            "responses": [
                "200": [
                    "description": .string(summary),
                    "headers": ["ETag": ["schema": ["type": "string"]]],
                    "content": .object([type: ["schema": ["type": "string"]]]),
                ],
                "304": ["description": "The client's copy is current."],
            ],
        ]
    }

    // MARK: Responses

    private static let streamHeaders: [String: JSONValue] = [
        "X-Request-ID": ["description": "The request's id, on its log lines too.", "schema": ["type": "string"]]
    ]

    private static func jsonBody(_ schema: String) -> JSONValue {
        ["required": .bool(true), "content": ["application/json": ["schema": Self.ref(schema)]]]
    }

    /// The statuses a route answers before a stream starts, each with its `error_code`s.
    static func errorStatuses(configuration: ServiceConfiguration, protected: Bool) -> [Int: [String]] {
        let auth = configuration.auth
        var statuses: [Int: [String]] = [
            400: ["invalid_json", "invalid_request"],
            403: ["agent_not_allowed"],
            408: ["request_timeout"],
            413: ["request_too_large"],
            415: ["unsupported_media_type"],
            503: ["too_many_streams", "server_shutting_down", "too_many_connections"],
        ]
        if protected && auth.isRequired {
            statuses[401] = ["authentication_required", "invalid_credentials"]
            statuses[429] = auth.principalTokensPerHour == nil ? ["rate_limited"] : ["rate_limited", "token_budget_exhausted"]
            if auth.methods.contains(.jwt) { statuses[503, default: []].append("authentication_unavailable") }
        }
        return statuses
    }

    private static func errorResponses(configuration: ServiceConfiguration, protected: Bool) -> [String: JSONValue] {
        let descriptions: [Int: String] = [
            400: "The body is not strict JSON, or a field is missing or invalid; the message names it.",
            401: "No key or token, or one that proves no principal.",
            403: "The agent is not one this API (or the principal) may invoke.",
            408: "The request took longer than REQUEST_READ_TIMEOUT_SECONDS to arrive.",
            413: "The body is over MAX_REQUEST_BYTES.",
            415: "Content-Type is not application/json.",
            429: "The principal is over one of its limits.",
            503: "The service cannot take the stream now; retry after Retry-After.",
        ]
        var responses: [String: JSONValue] = [:]
        for (status, codes) in Self.errorStatuses(configuration: configuration, protected: protected) {
            responses[String(status)] = Self.errorResponse(descriptions[status] ?? "", codes: codes, retryAfter: [429, 503].contains(status))
        }
        return responses
    }

    private static func errorResponse(_ description: String, codes: [String], retryAfter: Bool = false) -> JSONValue {
        var headers: [String: JSONValue] = ["X-Request-ID": ["schema": ["type": "string"]]]
        if retryAfter { headers["Retry-After"] = ["description": "Seconds to wait.", "schema": ["type": "integer", "minimum": .number(0)]] }
        return [
            "description": .string(description),
            "headers": .object(headers),
            "content": [
                "application/json": [
                    "schema": [
                        "allOf": [
                            Self.ref("Error"),
                            ["properties": ["error_code": ["enum": .array(codes.sorted().map(JSONValue.string))]]],
                        ]
                    ]
                ]
            ],
        ]
    }

    // MARK: Schemas

    private static func schemas(configuration: ServiceConfiguration) -> [String: JSONValue] {
        [
            "StreamRequest": Self.streamRequest(configuration: configuration),
            "ChatRequest": Self.chatRequest(configuration: configuration),
            "Error": [
                "type": "object",
                "required": ["error_code", "message"],
                "properties": [
                    "error_code": ["type": "string", "description": "Stable: clients switch on it."],
                    "message": ["type": "string", "description": "Safe to show; names the field of an invalid_request."],
                    "request_id": [
                        "type": "string",
                        "description":
                            "Absent when the connection was refused before a request was read: too_many_connections, request_timeout, and server_shutting_down on a connection that arrived while draining.",
                    ],
                ],
            ],
            "StreamLine": Self.streamLine(),
            "StreamErrorCode": ["type": "string", "enum": .array(StreamFailure.allErrorCodes.map(JSONValue.string))],
            "Usage": [
                "type": "object",
                "required": ["input_tokens", "output_tokens", "model_invocations"],
                "properties": [
                    "input_tokens": Self.count, "output_tokens": Self.count, "model_invocations": Self.count,
                ],
            ],
            "UIMessagePart": [
                "type": "object",
                "required": ["type"],
                "description": "A part of the AI SDK's UI message stream protocol (v1).",
                "properties": [
                    "type": [
                        "type": "string",
                        "anyOf": [
                            [
                                "enum": [
                                    "start", "start-step", "text-start", "text-delta", "text-end", "source-url", "source-document", "file",
                                    "tool-input-available", "tool-output-available", "finish-step", "finish", "error", "abort",
                                ]
                            ],
                            ["pattern": "^data-"],
                        ],
                    ]
                ],
            ],
            "Health": [
                "type": "object",
                "required": ["status", "service", "timestamp", "details"],
                "properties": [
                    "status": ["enum": ["healthy", "degraded", "unhealthy"]],
                    "service": ["type": "string"],
                    "timestamp": ["type": "string", "format": "date-time"],
                    "details": ["type": "object"],
                ],
            ],
            "ServiceInfo": [
                "type": "object",
                "required": ["service", "version", "endpoints"],
                "properties": [
                    "service": ["type": "string"], "version": ["type": "string"],
                    "endpoints": ["type": "object", "additionalProperties": ["type": "string"]],
                ],
            ],
        ]
    }

    private static let count: JSONValue = ["type": "integer", "minimum": .number(0)]

    /// A string that `rule` accepts.
    private static func identifier(_ rule: BedrockIdentifier, _ description: String) -> JSONValue {
        ["type": ["string", "null"], "pattern": .string(rule.pattern), "description": .string(description)]
    }

    /// The fields only a Bedrock agent takes.
    static let bedrockOnlyFields = [
        "agent_alias_id", "session_attributes", "prompt_session_attributes", "memory_id", "end_session", "invocation_id",
        "return_control_invocation_results",
    ]

    private static func streamRequest(configuration: ServiceConfiguration) -> JSONValue {
        // Named runtimes this API may invoke (ALLOWED_AGENT_RUNTIME_ARNS may leave some out: 403).
        let runtimeNames = configuration.agentCore.runtimes.filter {
            configuration.agentCore.allows(arn: $0.value.arn, allowedAgentIds: configuration.allowedAgentIds)
        }.keys.sorted()
        // ALLOWED_AGENT_IDS: other agents are 403; a runtime's name is not an agent id.
        var bedrockAgent = Self.identifier(.agentId, "The Bedrock agent.")
        if let allowed = configuration.allowedAgentIds {
            bedrockAgent = Self.with(bedrockAgent, "enum", .array(allowed.subtracting(runtimeNames).sorted().map(JSONValue.string)))
        }
        var runtimeArn: JSONValue = [
            "type": ["string", "null"], "pattern": .string(AgentCoreIdentifier.runtimeArn.pattern),
            "description": "An AgentCore Runtime (ALLOWED_AGENT_RUNTIME_ARNS).",
        ]
        let allowedArns =
            configuration.agentCore.allowedArns
            ?? (configuration.allowedAgentIds == nil ? nil : Set(configuration.agentCore.runtimes.values.map(\.arn)))
        if let allowedArns { runtimeArn = Self.with(runtimeArn, "enum", .array(allowedArns.sorted().map(JSONValue.string))) }
        let stringMap: JSONValue = ["type": ["object", "null"], "additionalProperties": ["type": "string"]]
        let boolean: JSONValue = ["type": ["boolean", "null"]]
        let absent: JSONValue = ["type": "null"]
        func absentFields(_ names: [String]) -> JSONValue { .object(Dictionary(uniqueKeysWithValues: names.map { ($0, absent) })) }
        let present: JSONValue = ["not": ["type": "null"]]
        // A runtime takes input_text or payload, not both.
        let runtimeInput: JSONValue = [
            "oneOf": [
                ["required": ["input_text"], "properties": ["input_text": present, "payload": absent]],
                ["required": ["payload"], "properties": ["payload": present, "input_text": absent]],
            ]
        ]
        // Required means present and not null (null counts as absent).
        let namedAgent = Self.with(bedrockAgent, "type", "string")
        var branches: [JSONValue] = [
            [
                "title": "A Bedrock agent's turn",
                "required": ["agent_id", "input_text"],
                "properties": absentFields(["agent_runtime_arn", "qualifier", "payload", "invocation_id", "return_control_invocation_results"])
                    .merging(["agent_id": namedAgent, "input_text": present]),
            ],
            [
                "title": "A Bedrock agent's tool results (return of control)",
                "required": ["agent_id", "invocation_id", "return_control_invocation_results"],
                "properties": absentFields(["agent_runtime_arn", "qualifier", "payload"]).merging([
                    "agent_id": namedAgent, "invocation_id": ["type": "string", "minLength": .number(1)],
                    "return_control_invocation_results": present,
                ]),
            ],
            [
                "title": "An AgentCore runtime by ARN",
                "required": ["agent_runtime_arn"],
                "properties": absentFields(Self.bedrockOnlyFields + ["agent_id"]).merging(["agent_runtime_arn": present]),
                "allOf": [runtimeInput],
            ],
        ]
        if !runtimeNames.isEmpty {
            branches.append([
                "title": "An AgentCore runtime named in AGENTCORE_RUNTIMES",
                "required": ["agent_id"],
                "properties": absentFields(Self.bedrockOnlyFields + ["agent_runtime_arn"]).merging([
                    "agent_id": ["enum": .array(runtimeNames.map(JSONValue.string))]
                ]),
                "allOf": [runtimeInput],
            ])
        }
        var agentId: JSONValue = bedrockAgent
        if !runtimeNames.isEmpty {
            agentId = [
                "type": ["string", "null"],
                "anyOf": [bedrockAgent, ["enum": .array(runtimeNames.map(JSONValue.string))]],
                "description": "The Bedrock agent, or a runtime named in AGENTCORE_RUNTIMES.",
            ]
        }
        return [
            "type": "object",
            "description": """
            A Bedrock agent's turn (agent_id and input_text), its tool results \
            (return_control_invocation_results with invocation_id), or an AgentCore runtime's \
            (agent_runtime_arn, or an agent_id named in AGENTCORE_RUNTIMES, with input_text or \
            payload), which takes none of the Bedrock-only fields. null counts as absent; unknown \
            fields are ignored.
            """,
            "anyOf": .array(branches),
            "properties": [
                "input_text": [
                    "type": ["string", "null"],
                    "minLength": .number(1),
                    "maxLength": .number(Double(configuration.maxInputCharacters)),
                    "pattern": .string(StreamRequest.notBlankPattern),
                    "description": "The user's message: at most MAX_INPUT_CHARS characters, not only whitespace.",
                ],
                "agent_id": agentId,
                "agent_alias_id": Self.identifier(.agentAliasId, "The alias; DEFAULT_AGENT_ALIAS_ID when absent."),
                "session_id": Self.identifier(.sessionId, "The conversation; a new one when absent."),
                "memory_id": Self.identifier(.memoryId, "Bedrock's long-term memory."),
                "enable_trace": ["type": ["boolean", "null"], "description": "Forward Bedrock's traces (DEBUG_MODE only)."],
                "end_session": boolean,
                "stream_final_response": ["type": ["boolean", "null"], "description": "Default STREAM_FINAL_RESPONSE."],
                "session_attributes": stringMap,
                "prompt_session_attributes": stringMap,
                "invocation_id": ["type": ["string", "null"], "description": "The return-of-control invocation answered."],
                "return_control_invocation_results": [
                    "type": ["array", "null"], "minItems": .number(1), "maxItems": .number(5), "items": ["type": "object"],
                    "description": "Bedrock's returnControlInvocationResults, with invocation_id.",
                ],
                "agent_runtime_arn": runtimeArn,
                "qualifier": ["type": ["string", "null"], "pattern": .string(AgentCoreIdentifier.qualifier.pattern)],
                "payload": ["type": ["object", "null"], "description": "A runtime's payload, instead of {\"prompt\": input_text}."],
            ],
        ]
    }

    private static func chatRequest(configuration: ServiceConfiguration) -> JSONValue {
        let textPart: JSONValue = [
            "type": "object", "required": ["type", "text"],
            "properties": ["type": ["const": "text"], "text": ["type": "string", "pattern": .string(StreamRequest.notBlankPattern)]],
        ]
        let message: JSONValue = [
            "type": "object", "required": ["role", "parts"],
            "properties": [
                "id": ["type": "string"],
                "role": ["enum": ["user", "assistant", "system"]],
                "parts": [
                    "type": "array",
                    "items": ["anyOf": [textPart, ["type": "object", "required": ["type"], "properties": ["type": ["type": "string"]]]]],
                ],
            ],
        ]
        var chat: JSONValue = [
            "type": "object",
            "required": ["id", "messages"],
            "description": """
            useChat's body (AI SDK 5): the chat id (its Bedrock session) and its UI messages, which \
            end with a user message holding text, or with the assistant message that holds the \
            outputs of the tool calls the agent asked for; agent_id (DEFAULT_AGENT_ID when absent) \
            and StreamRequest's agent_alias_id, agent_runtime_arn, qualifier, session_attributes, \
            prompt_session_attributes, memory_id, end_session and enable_trace beside them.
            """,
            "properties": [
                "id": ["type": "string", "minLength": .number(1)],
                "messages": ["type": "array", "minItems": .number(1), "items": message],
                "agent_id": ["type": ["string", "null"], "description": "DEFAULT_AGENT_ID when absent."],
                "agent_runtime_arn": ["type": ["string", "null"], "pattern": .string(AgentCoreIdentifier.runtimeArn.pattern)],
            ],
        ]
        if configuration.defaultAgentId == nil {
            // Without DEFAULT_AGENT_ID, the chat names its agent or its runtime.
            let named: JSONValue = ["not": ["type": "null"]]
            chat = Self.with(
                chat,
                "anyOf",
                [
                    ["required": ["agent_id"], "properties": ["agent_id": named]],
                    ["required": ["agent_runtime_arn"], "properties": ["agent_runtime_arn": named]],
                ]
            )
        }
        return chat
    }

    private static func streamLine() -> JSONValue {
        func line(_ type: String, _ properties: [String: JSONValue], required: [String], done: Bool = false) -> JSONValue {
            var all = properties
            all["type"] = ["const": .string(type)]
            all["done"] = ["const": .bool(done)]
            all["timestamp"] = ["type": "string", "description": "UTC, milliseconds: 2024-01-01T12:00:00.000Z."]
            return [
                "type": "object",
                "required": .array((["type", "done", "timestamp"] + required).map(JSONValue.string)),
                "properties": .object(all),
            ]
        }
        let text: JSONValue = ["type": "string"]
        return [
            "description": "One line of /api/agent/stream (or one event's data with SSE).",
            "oneOf": [
                line(
                    "start",
                    ["session_id": text, "agent_id": text, "agent_alias_id": text, "request_id": text],
                    required: ["session_id", "agent_id", "agent_alias_id", "request_id"]
                ),
                line(
                    "chunk",
                    ["content": text, "accumulated_content": text, "citations": ["type": "array", "items": ["type": "object"]]],
                    required: ["content", "accumulated_content"]
                ),
                line("trace", ["trace": ["type": "object", "description": "Bedrock's trace event, as sent."]], required: ["trace"]),
                line(
                    "return_control",
                    ["invocation_id": ["type": ["string", "null"]], "invocation_inputs": ["type": "array", "items": ["type": "object"]]],
                    required: ["invocation_id", "invocation_inputs"]
                ),
                line("files", ["files": ["type": "array", "items": ["type": "object"]]], required: ["files"]),
                line(
                    "completion",
                    ["final_content": text, "session_id": text, "chunks": Self.count, "usage": Self.ref("Usage")],
                    required: ["final_content", "session_id", "chunks"],
                    done: true
                ),
                line(
                    "error",
                    ["error_code": Self.ref("StreamErrorCode"), "message": text, "retryable": ["type": "boolean"], "request_id": text],
                    required: ["error_code", "message", "retryable", "request_id"],
                    done: true
                ),
            ],
        ]
    }

    // MARK: Helpers

    private static func ref(_ name: String) -> JSONValue {
        ["$ref": .string("#/components/schemas/\(name)")]
    }

    private static func with(_ value: JSONValue, _ key: String, _ member: JSONValue) -> JSONValue {
        value.merging([key: member])
    }
}

extension JSONValue {
    /// An object with `other`'s members added (theirs win); anything else as it is.
    fileprivate func merging(_ other: [String: JSONValue]) -> JSONValue {
        guard case .object(var members) = self else { return self }
        members.merge(other) { _, new in new }
        return .object(members)
    }
}

/// `GET /openapi.json`, made once.
struct OpenAPIRoute: Sendable {
    let document: ByteBuffer

    init(configuration: ServiceConfiguration) {
        self.document = OpenAPIDocument.json(configuration: configuration)
    }

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/openapi.json") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json", .cacheControl: "no-cache"],
                body: ResponseBody(byteBuffer: self.document)
            )
        }
        router.refuseOtherMethods(on: "/openapi.json", serving: [.get])
    }
}
