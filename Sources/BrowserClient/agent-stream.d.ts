// Generated from agent-stream.js by `make client-types` (tsc); do not edit.
/**
 * @typedef {"ndjson" | "sse"} StreamFormat
 * How the service frames the events: NDJSON lines (the default) or Server-Sent Events.
 */
/**
 * @typedef {object} StreamAgentOptions
 * @property {string} url The service's base URL (`https://agents.example.com`), or the stream endpoint's own.
 * @property {string} agentId The Bedrock agent.
 * @property {string} [agentAliasId] The alias; the service's default when absent.
 * @property {string} [inputText] The prompt. Not sent with invocation results.
 * @property {string} [sessionId] The conversation; the service makes one when absent (see the `start` event).
 * @property {Record<string, string>} [sessionAttributes]
 * @property {Record<string, string>} [promptSessionAttributes]
 * @property {string} [memoryId]
 * @property {boolean} [endSession]
 * @property {boolean} [enableTrace] Ask for `trace` events (sent only when the service runs in debug mode).
 * @property {boolean} [streamFinalResponse]
 * @property {string} [invocationId] With `returnControlInvocationResults`: the `return_control` being answered.
 * @property {object[]} [returnControlInvocationResults] Bedrock's `returnControlInvocationResults`.
 * @property {string} [apiKey] Sent as `X-API-Key`.
 * @property {string} [token] A bearer token (a JWT), sent as `Authorization: Bearer`.
 * @property {AbortSignal} [signal] Aborting it closes the connection; the service then cancels the agent's call.
 * @property {StreamFormat} [format] `ndjson` (the default) or `sse`.
 * @property {Record<string, string>} [headers] More request headers (`X-Request-ID`, say).
 * @property {typeof fetch} [fetch] The `fetch` to use; the global one by default.
 */
/**
 * @typedef {object} StartEvent
 * @property {"start"} type
 * @property {string} session_id
 * @property {string} agent_id
 * @property {string} agent_alias_id
 * @property {string} request_id
 * @property {false} done
 * @property {string} timestamp
 */
/**
 * @typedef {object} Citation
 * @property {{ text?: string, span?: { start?: number, end?: number } }} [generatedResponsePart]
 * @property {Array<{ content?: { text?: string }, location?: Record<string, any>, metadata?: Record<string, any> }>} [retrievedReferences]
 */
/**
 * @typedef {object} ChunkEvent
 * @property {"chunk"} type
 * @property {string} content This chunk's text.
 * @property {string} accumulated_content All text so far.
 * @property {Citation[]} [citations]
 * @property {false} done
 * @property {string} timestamp
 */
/**
 * @typedef {object} TraceEvent
 * @property {"trace"} type
 * @property {Record<string, any>} trace Bedrock's trace event, as sent.
 * @property {false} done
 * @property {string} timestamp
 */
/**
 * @typedef {object} InvocationInput
 * @property {{ actionGroup: string, function: string, parameters?: Array<{ name: string, type?: string, value?: string }>, [key: string]: any }} [functionInvocationInput]
 * @property {{ actionGroup: string, httpMethod: string, apiPath: string, parameters?: Array<{ name: string, type?: string, value?: string }>, requestBody?: Record<string, any>, [key: string]: any }} [apiInvocationInput]
 */
/**
 * @typedef {object} ReturnControlEvent
 * @property {"return_control"} type
 * @property {string} invocation_id
 * @property {InvocationInput[]} invocation_inputs
 * @property {false} done
 * @property {string} timestamp
 */
/**
 * @typedef {object} FilesEvent
 * @property {"files"} type
 * @property {Array<{ name?: string, type?: string, bytes?: string }>} files `bytes` is base64.
 * @property {false} done
 * @property {string} timestamp
 */
/**
 * @typedef {object} CompletionEvent
 * @property {"completion"} type
 * @property {string} final_content
 * @property {string} session_id
 * @property {number} chunks
 * @property {true} done
 * @property {string} timestamp
 */
/**
 * @typedef {"stream" | "http" | "network" | "aborted" | "protocol"} ErrorSource
 * Where an error came from: the stream's `error` line, an HTTP refusal before the stream, the
 * network, an abort, or a stream this client could not read (cut short, not the contract).
 */
/**
 * @typedef {object} ErrorEvent
 * @property {"error"} type
 * @property {string} error_code The service's code (`throttled`, `invalid_request`, ...), or this client's
 *   (`network_error`, `aborted`, `incomplete_stream`, `invalid_stream`).
 * @property {string} message A message safe to show.
 * @property {boolean} retryable Whether the same request may succeed later.
 * @property {string | null} request_id The service's request id, when it answered.
 * @property {ErrorSource} source
 * @property {number} [status] The HTTP status, for a refusal before the stream.
 * @property {number} [retry_after_seconds] From `Retry-After`, when the service sent one.
 * @property {true} done
 * @property {string} [timestamp]
 */
/** @typedef {StartEvent | ChunkEvent | TraceEvent | ReturnControlEvent | FilesEvent | CompletionEvent | ErrorEvent} AgentEvent */
/**
 * Streams an agent's answer: the contract's events, in order, ending with one `completion` or
 * `error`. Breaking out of the loop, or aborting `signal`, closes the connection.
 *
 * @param {StreamAgentOptions} options
 * @returns {AsyncGenerator<AgentEvent, void, undefined>}
 */
export function streamAgent(options: StreamAgentOptions): AsyncGenerator<AgentEvent, void, undefined>;
/**
 * Sends the results of a `return_control` and streams the answer that goes on: one output per
 * invocation input, in order (a string, or `{ body, failed, httpStatusCode }`).
 *
 * @param {Omit<StreamAgentOptions, "inputText" | "invocationId" | "returnControlInvocationResults"> & {
 *   returnControl: ReturnControlEvent,
 *   outputs: Array<ToolOutput>,
 * }} options The `sessionId` must be the one the `return_control` came in.
 * @returns {AsyncGenerator<AgentEvent, void, undefined>}
 */
export function sendReturnControlResults(options: Omit<StreamAgentOptions, "inputText" | "invocationId" | "returnControlInvocationResults"> & {
    returnControl: ReturnControlEvent;
    outputs: Array<ToolOutput>;
}): AsyncGenerator<AgentEvent, void, undefined>;
/**
 * @typedef {string | { body: string, failed?: boolean, httpStatusCode?: number }} ToolOutput
 * A tool's output: its text, or its text with whether it failed (and, for an API operation, the status).
 */
/**
 * Bedrock's `returnControlInvocationResults` for a `return_control`: a `functionResult` per
 * function input, an `apiResult` per API operation, in the inputs' order.
 *
 * @param {ReturnControlEvent} returnControl
 * @param {ToolOutput[]} outputs One per invocation input.
 * @returns {object[]}
 */
export function returnControlResults(returnControl: ReturnControlEvent, outputs: ToolOutput[]): object[];
/**
 * @typedef {object} ToolRequest
 * @property {"function" | "api"} kind
 * @property {string} actionGroup
 * @property {string} name The function, or `METHOD /path` for an API operation.
 * @property {Array<{ name: string, type?: string, value?: string }>} parameters
 * @property {Record<string, any>} [requestBody] An API operation's body, as Bedrock sent it.
 */
/**
 * What a `return_control` asks the caller to run, one entry per invocation input: for a form or a
 * dispatch table.
 *
 * @param {ReturnControlEvent} returnControl
 * @returns {ToolRequest[]}
 */
export function toolRequests(returnControl: ReturnControlEvent): ToolRequest[];
/**
 * A client for the Bedrock agent streaming service, for browsers and Node 18+: no dependencies,
 * one ES module. The service serves it at `/client/agent-stream.js`; its types are in
 * `agent-stream.d.ts` beside it.
 *
 *     import { streamAgent } from "https://agents.example.com/client/agent-stream.js";
 *     for await (const event of streamAgent({ url: "https://agents.example.com", agentId: "HELLO", inputText: "Hi" })) {
 *       if (event.type === "chunk") output.textContent += event.content;
 *       if (event.type === "error") showError(event.error_code, event.message, event.retryable);
 *     }
 *
 * Every stream ends with exactly one terminal event, `completion` or `error`: failures are values
 * (an HTTP refusal, the stream's `error` line, a network failure, an abort, a stream cut short),
 * never exceptions, so a UI shows them where the answer would have been. Only a call that cannot
 * be made (no `url` or `agentId`) throws, at once.
 *
 * @module agent-stream
 */
/** The stream endpoint's path. */
export const STREAM_PATH: "/api/agent/stream";
/**
 * How the service frames the events: NDJSON lines (the default) or Server-Sent Events.
 */
export type StreamFormat = "ndjson" | "sse";
export type StreamAgentOptions = {
    /**
     * The service's base URL (`https://agents.example.com`), or the stream endpoint's own.
     */
    url: string;
    /**
     * The Bedrock agent.
     */
    agentId: string;
    /**
     * The alias; the service's default when absent.
     */
    agentAliasId?: string | undefined;
    /**
     * The prompt. Not sent with invocation results.
     */
    inputText?: string | undefined;
    /**
     * The conversation; the service makes one when absent (see the `start` event).
     */
    sessionId?: string | undefined;
    sessionAttributes?: Record<string, string> | undefined;
    promptSessionAttributes?: Record<string, string> | undefined;
    memoryId?: string | undefined;
    endSession?: boolean | undefined;
    /**
     * Ask for `trace` events (sent only when the service runs in debug mode).
     */
    enableTrace?: boolean | undefined;
    streamFinalResponse?: boolean | undefined;
    /**
     * With `returnControlInvocationResults`: the `return_control` being answered.
     */
    invocationId?: string | undefined;
    /**
     * Bedrock's `returnControlInvocationResults`.
     */
    returnControlInvocationResults?: object[] | undefined;
    /**
     * Sent as `X-API-Key`.
     */
    apiKey?: string | undefined;
    /**
     * A bearer token (a JWT), sent as `Authorization: Bearer`.
     */
    token?: string | undefined;
    /**
     * Aborting it closes the connection; the service then cancels the agent's call.
     */
    signal?: AbortSignal | undefined;
    /**
     * `ndjson` (the default) or `sse`.
     */
    format?: StreamFormat | undefined;
    /**
     * More request headers (`X-Request-ID`, say).
     */
    headers?: Record<string, string> | undefined;
    /**
     * The `fetch` to use; the global one by default.
     */
    fetch?: typeof fetch | undefined;
};
export type StartEvent = {
    type: "start";
    session_id: string;
    agent_id: string;
    agent_alias_id: string;
    request_id: string;
    done: false;
    timestamp: string;
};
export type Citation = {
    generatedResponsePart?: {
        text?: string | undefined;
        span?: {
            start?: number | undefined;
            end?: number | undefined;
        } | undefined;
    } | undefined;
    retrievedReferences?: {
        content?: {
            text?: string | undefined;
        } | undefined;
        location?: Record<string, any> | undefined;
        metadata?: Record<string, any> | undefined;
    }[] | undefined;
};
export type ChunkEvent = {
    type: "chunk";
    /**
     * This chunk's text.
     */
    content: string;
    /**
     * All text so far.
     */
    accumulated_content: string;
    citations?: Citation[] | undefined;
    done: false;
    timestamp: string;
};
export type TraceEvent = {
    type: "trace";
    /**
     * Bedrock's trace event, as sent.
     */
    trace: Record<string, any>;
    done: false;
    timestamp: string;
};
export type InvocationInput = {
    functionInvocationInput?: {
        [key: string]: any;
        actionGroup: string;
        function: string;
        parameters?: {
            name: string;
            type?: string | undefined;
            value?: string | undefined;
        }[] | undefined;
    } | undefined;
    apiInvocationInput?: {
        [key: string]: any;
        actionGroup: string;
        httpMethod: string;
        apiPath: string;
        parameters?: {
            name: string;
            type?: string | undefined;
            value?: string | undefined;
        }[] | undefined;
        requestBody?: Record<string, any> | undefined;
    } | undefined;
};
export type ReturnControlEvent = {
    type: "return_control";
    invocation_id: string;
    invocation_inputs: InvocationInput[];
    done: false;
    timestamp: string;
};
export type FilesEvent = {
    type: "files";
    /**
     * `bytes` is base64.
     */
    files: Array<{
        name?: string;
        type?: string;
        bytes?: string;
    }>;
    done: false;
    timestamp: string;
};
export type CompletionEvent = {
    type: "completion";
    final_content: string;
    session_id: string;
    chunks: number;
    done: true;
    timestamp: string;
};
/**
 * Where an error came from: the stream's `error` line, an HTTP refusal before the stream, the
 * network, an abort, or a stream this client could not read (cut short, not the contract).
 */
export type ErrorSource = "stream" | "http" | "network" | "aborted" | "protocol";
export type ErrorEvent = {
    type: "error";
    /**
     * The service's code (`throttled`, `invalid_request`, ...), or this client's
     * (`network_error`, `aborted`, `incomplete_stream`, `invalid_stream`).
     */
    error_code: string;
    /**
     * A message safe to show.
     */
    message: string;
    /**
     * Whether the same request may succeed later.
     */
    retryable: boolean;
    /**
     * The service's request id, when it answered.
     */
    request_id: string | null;
    source: ErrorSource;
    /**
     * The HTTP status, for a refusal before the stream.
     */
    status?: number | undefined;
    /**
     * From `Retry-After`, when the service sent one.
     */
    retry_after_seconds?: number | undefined;
    done: true;
    timestamp?: string | undefined;
};
export type AgentEvent = StartEvent | ChunkEvent | TraceEvent | ReturnControlEvent | FilesEvent | CompletionEvent | ErrorEvent;
/**
 * A tool's output: its text, or its text with whether it failed (and, for an API operation, the status).
 */
export type ToolOutput = string | {
    body: string;
    failed?: boolean;
    httpStatusCode?: number;
};
export type ToolRequest = {
    kind: "function" | "api";
    actionGroup: string;
    /**
     * The function, or `METHOD /path` for an API operation.
     */
    name: string;
    parameters: Array<{
        name: string;
        type?: string;
        value?: string;
    }>;
    /**
     * An API operation's body, as Bedrock sent it.
     */
    requestBody?: Record<string, any> | undefined;
};
