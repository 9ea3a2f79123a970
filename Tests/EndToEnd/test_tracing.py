"""OpenTelemetry traces as a collector receives them: the service exports by OTLP/HTTP to a real
receiver of the test's (Tests/Processes/otlp_receiver.py), which decodes each request with the
`opentelemetry-proto` definitions. Checked: the incoming `traceparent` is continued, the spans'
parent-child structure (server, stream, one client span per attempt, the agent's own steps
under the attempt that carried them), their attributes, that no prompt text leaves the service
outside debug mode, the trace context passed on to AgentCore, and the ids on the log lines.
"""
import base64
import json
import re
import struct
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Processes"))

from binaries import ROOT, Mock, Service, mock_call, ndjson  # noqa: E402
from otlp_receiver import OTLPReceiver  # noqa: E402

SERVER, CLIENT, INTERNAL = 2, 3, 1  # OTLP's SpanKind values
ERROR = 2  # OTLP's Status.Code for an error
RUNTIME_ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/{}-Ab12Cd34Ef"
PROMPT = "What is the sum of the numbers one to ten? zq-unique-prompt-7351"


@pytest.fixture(scope="module")
def mock():
    """A MockBedrock of this module's own: the retry fixtures count calls from the process's start."""
    running = Mock()
    yield running.url
    running.stop()


@pytest.fixture(scope="module")
def receiver():
    running = OTLPReceiver()
    yield running
    running.close()


def traced_service(mock, receiver, **env):
    variables = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "50",
                 "OTEL_SERVICE_NAME": "agents-api", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=ci"}
    variables.update(env)
    return Service(mock, variables)


@pytest.fixture(scope="module")
def service(mock, receiver):
    running = traced_service(mock, receiver)
    yield running
    running.stop()


def new_traceparent(n):
    trace_id = f"{n:08x}" + "4bf92f3577b34da6a3ce929d0e0e47"[:24]
    return trace_id, f"00-{trace_id}-00f067aa0ba902b7-01"


def server_span(receiver, trace_id):
    """The server span of `trace_id`, once it arrived: it ends after the response's body, last."""
    spans = receiver.wait_for(lambda spans: any(s.trace_id == trace_id and s.kind == SERVER for s in spans))
    (server,) = [span for span in spans if span.trace_id == trace_id and span.kind == SERVER]
    return server


def by_id(spans):
    return {span.span_id: span for span in spans}


def children(spans, parent):
    return sorted((span for span in spans if span.parent_span_id == parent.span_id), key=lambda span: span.start)


def frames(path):
    """The payloads of an event-stream file's `trace` events, parsed."""
    data, offset, traces = Path(path).read_bytes(), 0, []
    while offset < len(data):
        total, headers_length = struct.unpack(">II", data[offset:offset + 8])
        headers = data[offset + 12:offset + 12 + headers_length]
        payload = data[offset + 12 + headers_length:offset + total - 4]
        if b"trace" in headers and b":event-type" in headers and b"\x05trace" in headers:
            traces.append(json.loads(payload))
        offset += total
    return traces


def every_string(spans):
    for span in spans:
        yield span.name
        for value in span.attributes.values():
            yield json.dumps(value)
        yield span.status_message


def test_a_stream_continues_the_incoming_trace_with_the_agents_steps_beneath(service, receiver):
    trace_id, traceparent = new_traceparent(1)
    status, headers, body = service.stream({"input_text": PROMPT, "agent_id": "CAPMULTI"}, headers={"traceparent": traceparent})
    assert status == 200
    completion = ndjson(body)[-1]
    spans = receiver.trace(trace_id, count=23)

    # The server span continues the caller's: same trace, the caller's span as its parent.
    [server] = [span for span in spans if span.kind == SERVER]
    assert server.parent_span_id == "00f067aa0ba902b7"
    assert server.attributes["http.request.method"] == "POST"
    assert server.attributes["http.route"] == "/api/agent/stream"
    assert server.attributes["http.response.status_code"] == 200
    assert server.resource["service.name"] == "agents-api"
    assert server.resource["deployment.environment"] == "ci"

    [stream] = children(spans, server)
    assert stream.name == "invoke_agent CAPMULTI" and stream.kind == INTERNAL
    attributes = stream.attributes
    assert attributes["gen_ai.system"] == "aws.bedrock"
    assert attributes["gen_ai.operation.name"] == "invoke_agent"
    assert attributes["gen_ai.agent.id"] == "CAPMULTI"
    assert attributes["session.id"] == completion["session_id"]
    assert attributes["request.id"] == headers["x-request-id"]
    assert attributes["gen_ai.usage.input_tokens"] == completion["usage"]["input_tokens"]
    assert attributes["gen_ai.usage.output_tokens"] == completion["usage"]["output_tokens"]
    assert attributes["gen_ai.response.time_to_first_chunk_ms"] >= 0
    assert stream.start >= server.start and stream.end <= server.end

    [attempt] = children(spans, stream)
    assert attempt.name == "InvokeAgent" and attempt.kind == CLIENT
    assert attempt.attributes["rpc.system"] == "aws-api" and attempt.attributes["rpc.method"] == "InvokeAgent"
    assert "http.request.resend_count" not in attempt.attributes

    # The agent's steps, from the recording's own trace events: the supervisor's two steps, the
    # first calling SimpleSupervisor, which calls MathSolverAgent; every model invocation is a
    # span with its tokens and Bedrock's own timing.
    events = frames(ROOT / "Fixtures/CAPMULTI.eventstream")
    steps = children(spans, attempt)
    assert [step.name for step in steps] == ["orchestration", "orchestration"]
    first = children(spans, steps[0])
    assert [span.name for span in first] == ["chat anthropic.claude-3-haiku-20240307-v1:0", "invoke_agent SimpleSupervisor"]
    supervisor = first[1]
    assert supervisor.attributes["gen_ai.agent.name"] == "SimpleSupervisor"
    assert supervisor.attributes["gen_ai.agent.id"] == "KZJDL3ZYQR"
    assert supervisor.kind == INTERNAL
    nested = [span.name for step in children(spans, supervisor) for span in children(spans, step)]
    assert "invoke_agent MathSolverAgent" in nested
    [math] = [span for span in spans if span.name == "invoke_agent MathSolverAgent"]
    assert len(children(spans, math)) == 5  # its five orchestration steps

    outputs = [event["trace"]["orchestrationTrace"]["modelInvocationOutput"]["metadata"] for event in events
               if "modelInvocationOutput" in event["trace"].get("orchestrationTrace", {})]
    chats = sorted((span for span in spans if span.name.startswith("chat ")), key=lambda span: span.start)
    assert len(chats) == len(outputs) == 9
    for chat, metadata in zip(chats, sorted(outputs, key=lambda m: m["startTime"])):
        assert chat.attributes["gen_ai.usage.input_tokens"] == metadata["usage"]["inputTokens"]
        assert chat.attributes["gen_ai.usage.output_tokens"] == metadata["usage"]["outputTokens"]
        assert chat.attributes["gen_ai.operation.name"] == "chat"
        assert (chat.end - chat.start) // 1_000_000 in (metadata["totalTimeMs"] - 1, metadata["totalTimeMs"])
    assert sum(chat.attributes["gen_ai.usage.input_tokens"] for chat in chats) == completion["usage"]["input_tokens"]

    # Every span of the trace hangs off the server span; none is orphaned.
    ids = by_id(spans)
    for span in spans:
        if span is not server:
            assert span.parent_span_id in ids, span

    # No prompt text outside debug mode: not the client's, not the agents' prompts or rationales.
    texts = list(every_string(spans))
    rationale = events[2]["trace"]["orchestrationTrace"]["rationale"]["text"]
    for secret in [PROMPT, "You are MasterAgent", rationale, "Calculate the sum of 1 + 2"]:
        assert not any(secret in text for text in texts), secret


def test_log_lines_of_a_traced_request_carry_its_trace_and_span_ids(service, receiver):
    trace_id, traceparent = new_traceparent(2)
    status, headers, _ = service.stream({"input_text": "Hello", "agent_id": "HELLO"}, headers={"traceparent": traceparent})
    assert status == 200
    server = server_span(receiver, trace_id)
    lines = [line for line in service.log().splitlines() if headers["x-request-id"] in line]
    assert len(lines) >= 3  # started, the stream's completion, completed
    for line in lines:
        assert f'"trace_id": "{trace_id}"' in line and f'"span_id": "{server.span_id}"' in line, line


def test_a_request_without_traceparent_starts_a_trace(service, receiver):
    status, headers, _ = service.stream({"input_text": "Hello", "agent_id": "HELLO"})
    assert status == 200
    trace_id = re.search(r'"trace_id": "([0-9a-f]{32})"', [l for l in service.log().splitlines() if headers["x-request-id"] in l][0])[1]
    server = server_span(receiver, trace_id)
    assert server.parent_span_id == ""


def test_retries_are_one_client_span_each(service, receiver):
    trace_id, traceparent = new_traceparent(3)
    status, _, body = service.stream({"input_text": "Hi", "agent_id": "FLAKY"}, headers={"traceparent": traceparent})
    assert status == 200 and ndjson(body)[-1]["type"] == "completion"
    spans = receiver.trace(trace_id, count=5)
    [stream] = [span for span in spans if span.name == "invoke_agent FLAKY"]
    attempts = children(spans, stream)
    assert [span.name for span in attempts] == ["InvokeAgent"] * 3
    assert [span.attributes.get("http.request.resend_count") for span in attempts] == [None, 1, 2]
    assert [span.attributes.get("error.type") for span in attempts] == ["throttled", "throttled", None]
    assert [span.status_code for span in attempts[:2]] == [ERROR, ERROR]
    assert stream.attributes["stream.attempts"] == 3


def test_a_failed_stream_has_its_error_code(service, receiver):
    trace_id, traceparent = new_traceparent(4)
    status, _, body = service.stream({"input_text": "Hi", "agent_id": "EXACCESS"}, headers={"traceparent": traceparent})
    code = ndjson(body)[-1]["error_code"]
    [stream] = [span for span in receiver.trace(trace_id, count=3) if span.name.startswith("invoke_agent")]
    assert stream.attributes["error.type"] == code
    assert stream.status_code == ERROR


def test_agentcore_receives_the_attempts_trace_context(service, receiver, mock):
    trace_id, traceparent = new_traceparent(5)
    payload = {"input_text": "Hi", "agent_runtime_arn": RUNTIME_ARN.format("strands_hello")}
    status, _, body = service.stream(payload, headers={"traceparent": traceparent, "tracestate": "vendor=" + "a" * 600})
    assert status == 200, body
    server_span(receiver, trace_id)
    spans = receiver.trace(trace_id, count=3)
    [attempt] = [span for span in spans if span.kind == CLIENT]
    assert attempt.name == "InvokeAgentRuntime"
    assert attempt.attributes["rpc.service"] == "BedrockAgentCore"
    sent = mock_call(mock, "/_mock/invocations")[-1]
    assert sent["traceParent"] == f"00-{trace_id}-{attempt.span_id}-01"
    # A tracestate over W3C's 512 characters is dropped, not passed on (AgentCore refuses it).
    assert sent.get("traceState") is None
    usage = ndjson(body)[-1].get("usage")
    stream = [span for span in spans if span.name.startswith("invoke_agent")][0]
    if usage:
        assert stream.attributes["gen_ai.usage.output_tokens"] == usage["output_tokens"]


def test_health_checks_make_no_spans(service, receiver):
    before = len(receiver.spans)
    for path in ["/health", "/metrics"]:
        assert service.request("GET", path)[0] == 200
    trace_id, traceparent = new_traceparent(6)
    service.stream({"input_text": "Hello", "agent_id": "HELLO"}, headers={"traceparent": traceparent})
    receiver.trace(trace_id, count=3)
    assert not any(span.attributes.get("url.path") in ("/health", "/metrics") for span in receiver.spans[before:])


def test_debug_mode_lets_prompts_into_spans(mock, receiver):
    running = traced_service(mock, receiver, DEBUG_MODE="true")
    try:
        trace_id, traceparent = new_traceparent(7)
        running.stream({"input_text": PROMPT, "agent_id": "CAPMULTI"}, headers={"traceparent": traceparent})
        spans = receiver.trace(trace_id, count=23)
        [stream] = [span for span in spans if span.name == "invoke_agent CAPMULTI"]
        assert stream.attributes["gen_ai.prompt"] == PROMPT
        assert any("You are MasterAgent" in (span.attributes.get("gen_ai.prompt") or "") for span in spans)
    finally:
        running.stop()


@pytest.mark.parametrize("env", [{"OTEL_SDK_DISABLED": "true"}, {"OTEL_TRACES_EXPORTER": "none"}, {"OTEL_TRACES_SAMPLER": "always_off"}])
def test_tracing_turned_off_exports_nothing(mock, receiver, env):
    running = traced_service(mock, receiver, **env)
    try:
        trace_id, traceparent = new_traceparent(8)
        assert running.stream({"input_text": "Hello", "agent_id": "HELLO"}, headers={"traceparent": traceparent})[0] == 200
        assert receiver.trace(trace_id, count=1, timeout=1.5) == []
    finally:
        running.stop()
    # A sampler that samples nothing leaves tracing on (a caller's sampled traceparent is not followed).
    assert f'"tracing": "{"otlp" if "OTEL_TRACES_SAMPLER" in env else "off"}"' in running.log()


def test_without_an_endpoint_tracing_is_off(mock):
    running = Service(mock)
    try:
        assert running.stream({"input_text": "Hello", "agent_id": "HELLO"})[0] == 200
    finally:
        running.stop()
    log = running.log()
    assert '"tracing": "off"' in log
    assert "trace_id" not in log


@pytest.mark.parametrize("name,value", [
    ("OTEL_TRACES_SAMPLER", "sometimes"),
    ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"),
])
def test_a_bad_variable_stops_start_up_naming_it(mock, name, value):
    with pytest.raises(RuntimeError) as failure:
        Service(mock, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", name: value})
    assert name in str(failure.value)


def test_a_collector_that_is_down_costs_the_streams_nothing_and_holds_no_shutdown(mock):
    # A collector that takes connections and never answers: every export waits its timeout (10 s).
    import socket as sockets
    silent = sockets.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    running = Service(mock, {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{silent.getsockname()[1]}", "OTEL_BSP_SCHEDULE_DELAY": "50"})
    try:
        for _ in range(5):
            status, _, body = running.stream({"input_text": "Hello", "agent_id": "HELLO"})
            assert status == 200 and ndjson(body)[-1]["type"] == "completion"
    finally:
        # The exports that cannot reach it do not hold the shutdown past its limit (3 s), so the
        # task is not killed at its stop timeout: stop() gives up (and kills) after 10 s.
        assert running.stop(timeout=10) == 0
        silent.close()


def test_spans_still_batched_at_shutdown_are_exported(mock, receiver):
    # A long batch delay: the spans are still queued when SIGTERM comes, and the shutdown sends them.
    running = traced_service(mock, receiver, OTEL_BSP_SCHEDULE_DELAY="60000")
    trace_id, traceparent = new_traceparent(9)
    assert running.stream({"input_text": "Hello", "agent_id": "HELLO"}, headers={"traceparent": traceparent})[0] == 200
    assert receiver.trace(trace_id, count=1, timeout=0.5) == []
    assert running.stop() == 0
    names = sorted(span.name for span in receiver.trace(trace_id, count=3, timeout=5))
    assert {"/api/agent/stream", "InvokeAgent", "invoke_agent HELLO"} <= set(names)


@pytest.mark.parametrize("traceparent", [
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # an all-zero trace id is invalid
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # so is an all-zero span id
    "zz-not-a-trace-parent",
    "00-" + "a" * 2000,
])
def test_a_malformed_traceparent_starts_a_new_trace(service, receiver, traceparent):
    status, headers, body = service.stream({"input_text": "Hello", "agent_id": "HELLO"},
                                           headers={"traceparent": traceparent, "tracestate": "x" * 3000})
    assert status == 200 and ndjson(body)[-1]["type"] == "completion"
    line = [l for l in service.log().splitlines() if headers["x-request-id"] in l][0]
    trace_id = re.search(r'"trace_id": "([0-9a-f]{32})"', line)[1]
    assert trace_id != "0" * 32 and trace_id not in traceparent
    server = server_span(receiver, trace_id)
    assert server.parent_span_id == ""
