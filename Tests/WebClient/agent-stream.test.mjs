// The browser client library (Sources/BrowserClient/agent-stream.js) under Node's own test runner,
// against the service and MockBedrock binaries that `swift build` made: `node --test Tests/WebClient`.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { returnControlResults, sendReturnControlResults, streamAgent, toolRequests } from "../../Sources/BrowserClient/agent-stream.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const bin = resolve(process.env.SERVICE_BIN_DIR ?? join(root, ".build/debug"));
const credentials = { AWS_ACCESS_KEY_ID: "AKIDWEBCLIENT", AWS_SECRET_ACCESS_KEY: "web/client/secret" };

/** A port nothing listens on yet. */
function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
      server.close(() => done(port));
    });
  });
}

/** Starts `program` and waits until `url` answers; returns the process. */
async function start(program, args, env, url) {
  const child = spawn(program, args, { env: { PATH: process.env.PATH, HOME: "/nonexistent", ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (data) => (log += data));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${program} exited with ${child.exitCode}: ${log}`);
    try {
      await fetch(url);
      return child;
    } catch {
      await new Promise((wait) => setTimeout(wait, 50));
    }
  }
  child.kill();
  throw new Error(`${program} did not answer within 60 s`);
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGTERM");
  await exited;
}

/** Every event of one stream. */
async function collect(stream) {
  const events = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** A `fetch` that hands the real answer over in reads of `size` bytes, to split lines and characters. */
function fetchInPieces(size) {
  return async (url, init) => {
    const response = await fetch(url, init);
    const bytes = new Uint8Array(await response.arrayBuffer());
    let offset = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (offset >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(offset, offset + size));
        offset += size;
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

/** A `fetch` whose answer is `text` with the given content type: a peer this client must survive. */
function fetchAnswering(text, contentType = "application/x-ndjson") {
  return async () => new Response(text, { status: 200, headers: { "content-type": contentType, "x-request-id": "fake-1" } });
}

describe("agent-stream.js against the service and MockBedrock", () => {
  let mock, service, keyedService, mockURL, url, keyedURL;
  const apiKey = "web-client-test-key-0123456789abcdef";

  before(async () => {
    const mockPort = await freePort();
    mockURL = `http://127.0.0.1:${mockPort}`;
    mock = await start(
      join(bin, "MockBedrock"),
      ["--port", String(mockPort), "--fixtures", join(root, "Fixtures"), "--access-key-id", credentials.AWS_ACCESS_KEY_ID, "--secret-access-key", credentials.AWS_SECRET_ACCESS_KEY],
      {},
      `${mockURL}/_mock/stats`,
    );
    const environment = { ...credentials, AWS_ENDPOINT_URL: mockURL, AWS_REGION: "us-east-1", AWS_EC2_METADATA_DISABLED: "true", HOST: "127.0.0.1", DEBUG_MODE: "true" };
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    service = await start(join(bin, "bedrock-agent-streaming"), [], { ...environment, PORT: String(port) }, `${url}/health`);

    const keys = join(mkdtempSync(join(tmpdir(), "web-client-")), "api-keys.json");
    writeFileSync(keys, JSON.stringify({ keys: [{ id: "web-client", sha256: createHash("sha256").update(apiKey).digest("hex") }] }));
    const keyedPort = await freePort();
    keyedURL = `http://127.0.0.1:${keyedPort}`;
    keyedService = await start(
      join(bin, "bedrock-agent-streaming"),
      [],
      { ...environment, PORT: String(keyedPort), AUTH_MODE: "api_key", API_KEYS_FILE: keys },
      `${keyedURL}/health`,
    );
  });

  after(async () => {
    await Promise.all([service, keyedService, mock].filter(Boolean).map(stop));
  });

  const stats = async () => (await fetch(`${mockURL}/_mock/stats`)).json();

  for (const format of ["ndjson", "sse"]) {
    test(`${format}: the contract's events in order, one terminal event, the text whole`, async () => {
      const events = await collect(streamAgent({ url, agentId: "HELLO", inputText: "Hi", sessionId: `hello-${format}`, format }));
      assert.equal(events[0].type, "start");
      assert.equal(events[0].session_id, `hello-${format}`);
      const last = events.at(-1);
      assert.equal(last.type, "completion");
      assert.equal(events.filter((event) => event.done).length, 1);
      const chunks = events.filter((event) => event.type === "chunk");
      assert.ok(chunks.length >= 2);
      assert.equal(chunks.map((chunk) => chunk.content).join(""), last.final_content);
      assert.ok(!events.some((event) => event.type === "trace"), "traces only when asked for");
    });

    test(`${format}: reads that end mid-line and mid-character lose nothing`, async () => {
      const whole = await collect(streamAgent({ url, agentId: "UTF8SPLIT", inputText: "Hi", format }));
      for (const size of [1, 2, 3, 7]) {
        const pieces = await collect(streamAgent({ url, agentId: "UTF8SPLIT", inputText: "Hi", format, fetch: fetchInPieces(size) }));
        assert.deepEqual(pieces.map((event) => event.type), whole.map((event) => event.type));
        assert.equal(pieces.at(-1).final_content, whole.at(-1).final_content);
      }
      assert.match(whole.at(-1).final_content, /é/u);
      assert.match(whole.at(-1).final_content, /😀/u);
      assert.ok(!whole.at(-1).final_content.includes("\uFFFD"));
    });
  }

  test("traces come when asked for, in debug mode", async () => {
    const events = await collect(streamAgent({ url, agentId: "TRACED", inputText: "Hi", enableTrace: true }));
    assert.ok(events.some((event) => event.type === "trace"));
  });

  test("citations and files as the contract sends them", async () => {
    const cited = await collect(streamAgent({ url, agentId: "CITED", inputText: "Hi" }));
    assert.ok(cited.some((event) => event.type === "chunk" && event.citations?.[0]?.retrievedReferences?.length));
    const files = await collect(streamAgent({ url, agentId: "FILES", inputText: "Hi", format: "sse" }));
    const file = files.find((event) => event.type === "files")?.files?.[0];
    assert.ok(file?.name && file.type && file.bytes);
  });

  test("a refusal before the stream is an error value with the status, code, message and request id", async () => {
    const [refused, ...rest] = await collect(streamAgent({ url, agentId: "not an agent!", inputText: "Hi" }));
    assert.deepEqual(rest, []);
    assert.equal(refused.type, "error");
    assert.equal(refused.source, "http");
    assert.equal(refused.status, 400);
    assert.equal(refused.error_code, "invalid_request");
    assert.match(refused.message, /agent_id/);
    assert.equal(refused.retryable, false);
    assert.ok(refused.request_id);
  });

  test("the stream's error line is the terminal value, retryable carried", async () => {
    const events = await collect(streamAgent({ url, agentId: "EXTHROTTLE", inputText: "Hi", format: "sse" }));
    const last = events.at(-1);
    assert.equal(last.type, "error");
    assert.equal(last.source, "stream");
    assert.equal(last.error_code, "throttled");
    assert.equal(last.retryable, true);
    assert.equal(last.request_id, events[0].request_id);
  });

  test("a service that cannot be reached is a retryable network error", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const [failure] = await collect(streamAgent({ url: closed, agentId: "HELLO", inputText: "Hi" }));
    assert.equal(failure.error_code, "network_error");
    assert.equal(failure.source, "network");
    assert.equal(failure.retryable, true);
  });

  test("a stream cut short, or not JSON, ends with an error value instead of hanging or throwing", async () => {
    const cut = await collect(streamAgent({ url, agentId: "HELLO", fetch: fetchAnswering('{"type":"start"}\n{"type":"chunk","content":"a"}\n') }));
    assert.deepEqual(cut.map((event) => event.type), ["start", "chunk", "error"]);
    assert.equal(cut.at(-1).error_code, "incomplete_stream");
    assert.equal(cut.at(-1).request_id, "fake-1");
    const garbage = await collect(streamAgent({ url, agentId: "HELLO", fetch: fetchAnswering("data: {oops\n\n", "text/event-stream") }));
    assert.equal(garbage.at(-1).error_code, "invalid_stream");
    // An SSE stream split at a CRLF, with comments and multi-line data, reads as one event.
    const crlf = await collect(
      streamAgent({ url, agentId: "HELLO", fetch: fetchAnswering(': ping\r\n\r\ndata: {"type":"completion",\r\ndata: "done":true}\r\n\r\n', "text/event-stream") }),
    );
    assert.deepEqual(crlf, [{ type: "completion", done: true }]);
  });

  test("aborting the signal stops the stream, and the service cancels the Bedrock call", async () => {
    const before = (await stats()).streamsInterrupted;
    const controller = new AbortController();
    const events = [];
    for await (const event of streamAgent({ url, agentId: "SLOW", inputText: "Hi", signal: controller.signal })) {
      events.push(event);
      if (event.type === "chunk") controller.abort();
    }
    assert.equal(events.at(-1).error_code, "aborted");
    assert.equal(events.at(-1).source, "aborted");
    assert.equal(events.at(-1).retryable, false);
    await waitFor(async () => (await stats()).streamsInterrupted === before + 1);
  });

  test("leaving the loop early closes the connection too", async () => {
    const before = (await stats()).streamsInterrupted;
    for await (const event of streamAgent({ url, agentId: "SLOW", inputText: "Hi", format: "sse" })) {
      if (event.type === "chunk") break;
    }
    await waitFor(async () => (await stats()).streamsInterrupted === before + 1);
  });

  test("the return-control round trip: what the agent asks for, the results sent back, the answer", async () => {
    const sessionId = `weather-${Date.now()}`;
    const first = await collect(streamAgent({ url, agentId: "RETCTRL", inputText: "Weather?", sessionId }));
    const control = first.find((event) => event.type === "return_control");
    assert.deepEqual(toolRequests(control), [
      { kind: "function", actionGroup: "WeatherActions", name: "get_weather", parameters: [{ name: "city", type: "string", value: "Seattle" }] },
    ]);
    const second = await collect(sendReturnControlResults({ url, agentId: "RETCTRL", sessionId, returnControl: control, outputs: ["15 degrees, raining"] }));
    assert.equal(second.at(-1).type, "completion");
    assert.equal(second.at(-1).final_content, "It is 15 degrees and raining in Seattle.");
  });

  test("an API operation's result, and a failed one, take Bedrock's shapes", async () => {
    const sessionId = `trip-${Date.now()}`;
    let events = await collect(streamAgent({ url, agentId: "RETCTRL2", inputText: "Trip?", sessionId }));
    let control = events.find((event) => event.type === "return_control");
    events = await collect(sendReturnControlResults({ url, agentId: "RETCTRL2", sessionId, returnControl: control, outputs: ["rain"] }));
    control = events.find((event) => event.type === "return_control");
    assert.deepEqual(toolRequests(control).map((tool) => `${tool.kind} ${tool.actionGroup}/${tool.name}`), [
      "function WeatherActions/get_forecast",
      "api TravelApi/GET /trips/{tripId}",
    ]);
    const outputs = [{ body: "no forecast", failed: true }, { body: '{"trip":"T-42"}', httpStatusCode: 200 }];
    assert.deepEqual(returnControlResults(control, outputs), [
      { functionResult: { actionGroup: "WeatherActions", function: "get_forecast", responseBody: { TEXT: { body: "no forecast" } }, responseState: "FAILURE" } },
      { apiResult: { actionGroup: "TravelApi", httpMethod: "get", apiPath: "/trips/{tripId}", httpStatusCode: 200, responseBody: { "application/json": { body: '{"trip":"T-42"}' } } } },
    ]);
    assert.throws(() => returnControlResults(control, ["one"]), /2 invocation inputs need 2 outputs, got 1/);
    events = await collect(sendReturnControlResults({ url, agentId: "RETCTRL2", sessionId, returnControl: control, outputs }));
    assert.equal(events.at(-1).final_content, "Rain today, sun tomorrow: pack for both on trip T-42.");
    const sent = (await (await fetch(`${mockURL}/_mock/invocations`)).json()).at(-1);
    assert.equal(sent.invocationId, control.invocation_id);
    assert.equal(sent.returnControlInvocationResults[1].apiResult.apiPath, "/trips/{tripId}");
  });

  test("with API keys on: no key is a 401 error value; the key streams", async () => {
    const [refused] = await collect(streamAgent({ url: keyedURL, agentId: "HELLO", inputText: "Hi" }));
    assert.equal(refused.status, 401);
    assert.equal(refused.error_code, "authentication_required");
    const [wrong] = await collect(streamAgent({ url: keyedURL, agentId: "HELLO", inputText: "Hi", apiKey: "not-the-key-0123456789" }));
    assert.equal(wrong.error_code, "invalid_credentials");
    const events = await collect(streamAgent({ url: keyedURL, agentId: "HELLO", inputText: "Hi", apiKey }));
    assert.equal(events.at(-1).type, "completion");
  });

  test("a call that cannot be made throws at once", () => {
    assert.throws(() => streamAgent({ url, agentId: "" }), /agentId/);
    assert.throws(() => streamAgent(/** @type {any} */ ({ agentId: "HELLO" })), /url/);
  });
});

/** Polls `check` until it holds, for up to five seconds. */
async function waitFor(check) {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((wait) => setTimeout(wait, 50));
  }
  assert.fail("the condition did not hold within 5 s");
}
