// @ts-check
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
export const STREAM_PATH = "/api/agent/stream";

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
export function streamAgent(options) {
  // Checked here, so that a call that cannot be made throws before any iteration.
  const { endpoint, init } = streamRequest(options);
  return streamEvents(endpoint, init, options);
}

/**
 * @param {string} endpoint
 * @param {RequestInit} init
 * @param {StreamAgentOptions} options
 * @returns {AsyncGenerator<AgentEvent, void, undefined>}
 */
async function* streamEvents(endpoint, init, options) {
  const fetchFunction = options.fetch ?? globalThis.fetch;
  /** @type {Response} */
  let response;
  try {
    response = await fetchFunction(endpoint, init);
  } catch (error) {
    yield failure(error, options.signal, null);
    return;
  }
  const requestId = response.headers.get("x-request-id");
  if (!response.ok || !response.body) {
    yield await refusal(response, requestId);
    return;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const framing = (response.headers.get("content-type") ?? "").startsWith("text/event-stream")
    ? new EventStreamFraming()
    : new LineFraming();
  try {
    for (;;) {
      /** @type {ReadableStreamReadResult<Uint8Array>} */
      let read;
      try {
        read = await reader.read();
      } catch (error) {
        yield failure(error, options.signal, requestId);
        return;
      }
      // A character split between two reads stays whole: the decoder keeps its first bytes.
      const text = read.done ? decoder.decode() : decoder.decode(read.value, { stream: true });
      for (const data of framing.push(text, read.done)) {
        const event = parseEvent(data, requestId);
        yield event;
        if (event.done) return;
      }
      if (read.done) break;
    }
    yield clientError("incomplete_stream", "The connection closed before the answer ended.", true, "protocol", requestId);
  } finally {
    // A consumer that stops early, an abort, or the end: the connection is not read any further.
    reader.cancel().catch(() => {});
  }
}

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
export function sendReturnControlResults(options) {
  const { returnControl, outputs, ...rest } = options;
  return streamAgent({
    ...rest,
    invocationId: returnControl.invocation_id,
    returnControlInvocationResults: returnControlResults(returnControl, outputs),
  });
}

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
export function returnControlResults(returnControl, outputs) {
  const inputs = returnControl.invocation_inputs ?? [];
  if (outputs.length !== inputs.length) {
    throw new TypeError(`returnControlResults: ${inputs.length} invocation inputs need ${inputs.length} outputs, got ${outputs.length}`);
  }
  return inputs.map((input, index) => {
    const output = outputs[index];
    const { body, failed = false, httpStatusCode = undefined } = typeof output === "string" ? { body: output } : output;
    if (input.functionInvocationInput) {
      const { actionGroup, function: name } = input.functionInvocationInput;
      return {
        functionResult: {
          actionGroup,
          function: name,
          responseBody: { TEXT: { body } },
          ...(failed ? { responseState: "FAILURE" } : {}),
        },
      };
    }
    if (input.apiInvocationInput) {
      const { actionGroup, httpMethod, apiPath } = input.apiInvocationInput;
      return {
        apiResult: {
          actionGroup,
          httpMethod,
          apiPath,
          httpStatusCode: httpStatusCode ?? (failed ? 500 : 200),
          responseBody: { "application/json": { body } },
          ...(failed ? { responseState: "FAILURE" } : {}),
        },
      };
    }
    throw new TypeError(`returnControlResults: invocation input ${index} is neither a function nor an API operation`);
  });
}

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
export function toolRequests(returnControl) {
  return (returnControl.invocation_inputs ?? []).map((input) => {
    if (input.apiInvocationInput) {
      const api = input.apiInvocationInput;
      return {
        kind: /** @type {const} */ ("api"),
        actionGroup: api.actionGroup,
        name: `${String(api.httpMethod).toUpperCase()} ${api.apiPath}`,
        parameters: api.parameters ?? [],
        ...(api.requestBody ? { requestBody: api.requestBody } : {}),
      };
    }
    const call = input.functionInvocationInput ?? { actionGroup: "", function: "" };
    return { kind: /** @type {const} */ ("function"), actionGroup: call.actionGroup, name: call.function, parameters: call.parameters ?? [] };
  });
}

// MARK: The request

/**
 * The endpoint and the `fetch` options for `options`.
 *
 * @param {StreamAgentOptions} options
 * @returns {{ endpoint: string, init: RequestInit }}
 */
function streamRequest(options) {
  if (!options || typeof options.url !== "string" || options.url === "") {
    throw new TypeError("streamAgent: `url` (the service's base URL) is required");
  }
  if (typeof options.agentId !== "string" || options.agentId === "") {
    throw new TypeError("streamAgent: `agentId` is required");
  }
  const base = options.url.replace(/\/+$/, "");
  const endpoint = base.endsWith(STREAM_PATH) ? base : base + STREAM_PATH;
  /** @type {Record<string, unknown>} */
  const body = {
    agent_id: options.agentId,
    agent_alias_id: options.agentAliasId,
    input_text: options.inputText,
    session_id: options.sessionId,
    session_attributes: options.sessionAttributes,
    prompt_session_attributes: options.promptSessionAttributes,
    memory_id: options.memoryId,
    end_session: options.endSession,
    enable_trace: options.enableTrace,
    stream_final_response: options.streamFinalResponse,
    invocation_id: options.invocationId,
    return_control_invocation_results: options.returnControlInvocationResults,
  };
  for (const name of Object.keys(body)) {
    if (body[name] === undefined) delete body[name];
  }
  /** @type {Record<string, string>} */
  const headers = {
    ...options.headers,
    "Content-Type": "application/json",
    Accept: options.format === "sse" ? "text/event-stream" : "application/x-ndjson",
  };
  if (options.apiKey) headers["X-API-Key"] = options.apiKey;
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  return {
    endpoint,
    init: { method: "POST", headers, body: JSON.stringify(body), signal: options.signal, cache: "no-store" },
  };
}

// MARK: Framing

/** NDJSON: one event a line. A read that ends mid-line keeps the rest for the next. */
class LineFraming {
  pending = "";

  /**
   * @param {string} text
   * @param {boolean} ended
   * @returns {string[]}
   */
  push(text, ended) {
    this.pending += text;
    const lines = this.pending.split("\n");
    this.pending = ended ? "" : /** @type {string} */ (lines.pop());
    return lines.filter((line) => line.trim() !== "");
  }
}

/**
 * Server-Sent Events, as the HTML standard reads them: `data:` lines joined, dispatched at a blank
 * line; comments (the service's `: ping` heartbeats), `event:`, `id:` and `retry:` add nothing here,
 * since each event's data names its type.
 */
class EventStreamFraming {
  pending = "";
  /** @type {string[]} */
  data = [];

  /**
   * @param {string} text
   * @param {boolean} ended
   * @returns {string[]}
   */
  push(text, ended) {
    let buffer = this.pending + text;
    // A `\r` at the end may be the first half of a `\r\n`: it ends no line until the next read says.
    const held = !ended && buffer.endsWith("\r") ? "\r" : "";
    if (held) buffer = buffer.slice(0, -1);
    const lines = buffer.split(/\r\n|\r|\n/);
    this.pending = ended ? "" : /** @type {string} */ (lines.pop()) + held;
    /** @type {string[]} */
    const events = [];
    for (const line of lines) {
      if (line === "") {
        if (this.data.length > 0) events.push(this.data.join("\n"));
        this.data = [];
      } else if (line.startsWith("data:")) {
        this.data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
      }
    }
    return events;
  }
}

// MARK: Events and errors

/**
 * @param {string} data
 * @param {string | null} requestId
 * @returns {AgentEvent}
 */
function parseEvent(data, requestId) {
  /** @type {any} */
  let event;
  try {
    event = JSON.parse(data);
  } catch {
    return clientError("invalid_stream", "The service sent a line that is not JSON.", true, "protocol", requestId);
  }
  if (event === null || typeof event !== "object" || typeof event.type !== "string") {
    return clientError("invalid_stream", "The service sent an event without a type.", true, "protocol", requestId);
  }
  if (event.type === "error") {
    return { ...event, source: "stream", request_id: event.request_id ?? requestId, done: true };
  }
  return event;
}

/**
 * A refusal before the stream: the service's JSON error body, or what the status says.
 *
 * @param {Response} response
 * @param {string | null} requestId
 * @returns {Promise<ErrorEvent>}
 */
async function refusal(response, requestId) {
  /** @type {any} */
  let body = null;
  try {
    body = JSON.parse(await response.text());
  } catch {
    // A proxy's HTML page, or nothing: the status speaks.
  }
  const retryAfter = Number.parseInt(response.headers.get("retry-after") ?? "", 10);
  return {
    type: "error",
    error_code: typeof body?.error_code === "string" ? body.error_code : `http_${response.status}`,
    message: typeof body?.message === "string" ? body.message : `The service answered HTTP ${response.status}.`,
    retryable: [408, 429, 502, 503, 504].includes(response.status),
    request_id: typeof body?.request_id === "string" ? body.request_id : requestId,
    source: "http",
    status: response.status,
    ...(Number.isFinite(retryAfter) ? { retry_after_seconds: retryAfter } : {}),
    done: true,
  };
}

/**
 * A failure of `fetch` or of a read: an abort, or the network.
 *
 * @param {unknown} error
 * @param {AbortSignal | undefined} signal
 * @param {string | null} requestId
 * @returns {ErrorEvent}
 */
function failure(error, signal, requestId) {
  if (signal?.aborted || (error instanceof Error && error.name === "AbortError")) {
    return clientError("aborted", "The request was stopped.", false, "aborted", requestId);
  }
  const detail = error instanceof Error ? error.message : String(error);
  return clientError("network_error", `The service could not be reached (${detail}).`, true, "network", requestId);
}

/**
 * @param {string} code
 * @param {string} message
 * @param {boolean} retryable
 * @param {ErrorSource} source
 * @param {string | null} requestId
 * @returns {ErrorEvent}
 */
function clientError(code, message, retryable, source, requestId) {
  return { type: "error", error_code: code, message, retryable, request_id: requestId, source, done: true };
}
