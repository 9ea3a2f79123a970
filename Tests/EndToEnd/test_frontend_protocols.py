"""The frontends' protocols end to end, against the service and MockBedrock binaries: Server-Sent
Events on /api/agent/stream, and the AI SDK UI message stream (what `useChat` reads) on
/api/chat, parsed here by an SSE parser of this file's own and checked against the part shapes
of ../shared/spec/ai-sdk-ui-message-stream.md (AI SDK 7).
"""
import json
import time
import uuid

import pytest

from binaries import Service, mock_call, ndjson, read_until_closed


# MARK: Server-Sent Events, as the WHATWG HTML standard's event-stream parser reads them.

def parse_sse(body):
    """The events of an event stream: a list of {"event", "data"}, and the comments seen."""
    events, comments = [], []
    event_type, data = "", []
    text = body.decode("utf-8")
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line == "":
            if data:
                events.append({"event": event_type or "message", "data": "\n".join(data)})
            event_type, data = "", []
            continue
        if line.startswith(":"):
            comments.append(line[1:].lstrip())
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            event_type = value
        elif field == "data":
            data.append(value)
    return events, comments


# MARK: The UI message stream's parts (field: required?, type).

ANY, STR, BOOL = object(), str, bool
SHAPES = {
    "start": {"messageId": (False, STR), "messageMetadata": (False, ANY)},
    "start-step": {}, "finish-step": {},
    "text-start": {"id": (True, STR)}, "text-end": {"id": (True, STR)},
    "text-delta": {"id": (True, STR), "delta": (True, STR)},
    "reasoning-start": {"id": (True, STR)}, "reasoning-end": {"id": (True, STR)},
    "reasoning-delta": {"id": (True, STR), "delta": (True, STR)},
    "source-url": {"sourceId": (True, STR), "url": (True, STR), "title": (False, STR)},
    "source-document": {"sourceId": (True, STR), "mediaType": (True, STR), "title": (True, STR), "filename": (False, STR)},
    "file": {"url": (True, STR), "mediaType": (True, STR)},
    "tool-input-available": {"toolCallId": (True, STR), "toolName": (True, STR), "input": (True, ANY),
                             "dynamic": (False, BOOL), "title": (False, STR)},
    "error": {"errorText": (True, STR)},
    "finish": {"finishReason": (False, STR), "messageMetadata": (False, ANY)},
    "data-trace": {"data": (True, ANY), "id": (False, STR), "transient": (False, BOOL)},
}
FINISH_REASONS = {"stop", "length", "content-filter", "tool-calls", "error", "other"}


def ui_parts(body):
    """The parts of a UI message stream, checked: data-only events ending with [DONE], each part
    of a known shape, every text and reasoning block started, its deltas inside it, ended once."""
    events, _ = parse_sse(body)
    assert events and all(event["event"] == "message" for event in events), events
    assert events[-1]["data"] == "[DONE]", events[-1]
    parts = [json.loads(event["data"]) for event in events[:-1]]
    open_blocks, ended = set(), set()
    for part in parts:
        kind = part.get("type")
        assert kind in SHAPES, f"unknown part type {kind}: {part}"
        shape = SHAPES[kind]
        for name, (required, expected) in shape.items():
            if name in part:
                assert expected is ANY or isinstance(part[name], expected), f"{kind}.{name}: {part}"
            else:
                assert not required, f"{kind} lacks {name}: {part}"
        assert set(part) - {"type", "providerMetadata"} <= set(shape), f"unknown fields: {part}"
        block = part.get("id")
        if kind in ("text-start", "reasoning-start"):
            assert block not in open_blocks and block not in ended, f"{block} started twice"
            open_blocks.add(block)
        elif kind in ("text-delta", "reasoning-delta"):
            assert block in open_blocks, f"a delta for {block}, which is not open"
        elif kind in ("text-end", "reasoning-end"):
            open_blocks.remove(block)
            ended.add(block)
        elif kind == "finish" and "finishReason" in part:
            assert part["finishReason"] in FINISH_REASONS
    assert not open_blocks, f"never ended: {open_blocks}"
    kinds = [part["type"] for part in parts]
    assert kinds[:2] == ["start", "start-step"] and kinds[-2:] == ["finish-step", "finish"], kinds
    return parts


def text_of(parts):
    return "".join(part["delta"] for part in parts if part["type"] == "text-delta")


# MARK: Requests as a frontend sends them.

def chat_body(chat_id, messages, agent="HELLO", **extra):
    """The body useChat's default transport posts, with agent_id from its body option."""
    return {"id": chat_id, "messages": messages, "trigger": "submit-message", "messageId": None,
            **({"agent_id": agent} if agent else {}), **extra}


def user(text):
    return {"id": "u-" + uuid.uuid4().hex[:8], "role": "user", "parts": [{"type": "text", "text": text}]}


def assistant(*parts):
    return {"id": "a-1", "role": "assistant", "parts": list(parts)}


def tool_output(call, output):
    """A tool call the frontend answered with addToolResult."""
    return {"type": "dynamic-tool", "toolName": call["toolName"], "toolCallId": call["toolCallId"],
            "state": "output-available", "input": call["input"], "output": output}


def chat(service, body, headers=None):
    payload = json.dumps(body).encode()
    return service.request("POST", "/api/chat", payload, {"Content-Type": "application/json", **(headers or {})})


def sse_stream(service, payload):
    return service.stream(payload, headers={"Accept": "text/event-stream"})


FIXTURES = ["HELLO", "CITED", "FILES", "TRACED", "UTF8SPLIT", "SLOW", "CAPKB", "CAPMULTI", "CAPSIMPLE",
            "EXTHROTTLE", "FTRUNC", "FBADCRC", "HTNOTFOUND"]


@pytest.mark.parametrize("agent", FIXTURES)
def test_sse_carries_the_ndjson_lines_as_events(service, agent):
    payload = {"input_text": "Hi", "agent_id": agent, "session_id": f"sse-{agent}", "enable_trace": True}
    status, headers, body = sse_stream(service, payload)
    _, _, lines_body = service.stream(payload)
    lines = ndjson(lines_body)
    if status != 200:
        assert json.loads(body)["error_code"] == json.loads(lines_body)["error_code"]
        return
    assert headers["content-type"] == "text/event-stream"
    events, _ = parse_sse(body)
    assert [event["event"] for event in events] == [line["type"] for line in lines]
    objects = [json.loads(event["data"]) for event in events]
    assert all(event["event"] == obj["type"] for event, obj in zip(events, objects))
    # The same content, line for line (timestamps and request ids differ between the two requests).
    for name in ("content", "accumulated_content", "final_content", "error_code", "message", "citations"):
        assert [obj.get(name) for obj in objects] == [line.get(name) for line in lines], name


@pytest.mark.parametrize("agent", FIXTURES)
def test_chat_streams_the_protocol_parts(service, agent):
    status, headers, body = chat(service, chat_body(f"chat-{agent}", [user("Hi")], agent=agent))
    _, _, lines_body = service.stream({"input_text": "Hi", "agent_id": agent, "enable_trace": True})
    if status != 200:
        # Errors before a stream: the JSON body of /api/agent/stream, whose text useChat shows.
        assert json.loads(body)["error_code"] == json.loads(lines_body)["error_code"]
        return
    assert headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert headers["content-type"] == "text/event-stream"
    assert headers["cache-control"].startswith("no-cache")
    assert headers["x-accel-buffering"] == "no"
    parts = ui_parts(body)
    last = ndjson(lines_body)[-1]
    if last["type"] == "completion":
        assert text_of(parts) == last["final_content"]
        assert parts[-1]["finishReason"] == "stop"
    else:
        assert [part["errorText"] for part in parts if part["type"] == "error"] == [last["message"]]
        assert parts[-1]["finishReason"] == "error"
    if agent == "CITED":
        sources = [part for part in parts if part["type"] == "source-url"]
        assert sources and all(source["url"].startswith("s3://") for source in sources)
    if agent == "FILES":
        files = [part for part in parts if part["type"] == "file"]
        assert files and files[0]["url"].startswith("data:" + files[0]["mediaType"] + ";base64,")
    if agent == "TRACED":
        assert any(part["type"] in ("data-trace", "reasoning-delta") for part in parts)


def test_the_tool_call_round_trip_then_its_stale_outputs(service, mock):
    question = user("Trip weather?")
    _, _, body = chat(service, chat_body("trip-e2e", [question], agent="RETCTRL2"))
    parts = ui_parts(body)
    assert parts[-1]["finishReason"] == "tool-calls"
    [weather] = [part for part in parts if part["type"] == "tool-input-available"]
    assert weather["dynamic"] is True and weather["toolName"] == "WeatherActions/get_weather"
    assert weather["input"] == {"city": "Oslo"}

    # useChat posts the chat again with the output in the assistant message; the answer goes on,
    # and the agent asks for two tools at once.
    message = assistant({"type": "step-start"}, tool_output(weather, "rain"))
    _, _, body = chat(service, chat_body("trip-e2e", [question, message], agent="RETCTRL2"))
    parts = ui_parts(body)
    calls = [part for part in parts if part["type"] == "tool-input-available"]
    assert [call["toolName"] for call in calls] == ["WeatherActions/get_forecast", "TravelApi/GET /trips/{tripId}"]
    assert text_of(parts) == "Checking the forecast too. "

    # The first invocation's output again: stale, refused before Bedrock.
    before = mock_call(mock, "/_mock/stats")["invocations"]
    status, _, refused = chat(service, chat_body("trip-e2e", [question, message], agent="RETCTRL2"))
    assert status == 400
    error = json.loads(refused)
    assert error["error_code"] == "invalid_request"
    assert weather["toolCallId"].split("#")[0] in error["message"] and "stale" in error["message"]
    # One of two outputs: refused, naming the one missing.
    message["parts"] += [{"type": "step-start"}, {"type": "text", "text": "Checking the forecast too. "},
                         tool_output(calls[0], {"today": "rain", "tomorrow": "sun"})]
    status, _, refused = chat(service, chat_body("trip-e2e", [question, message], agent="RETCTRL2"))
    assert status == 400 and calls[1]["toolCallId"] in json.loads(refused)["message"]
    assert mock_call(mock, "/_mock/stats")["invocations"] == before

    message["parts"].append(tool_output(calls[1], "booked"))
    _, _, body = chat(service, chat_body("trip-e2e", [question, message], agent="RETCTRL2"))
    parts = ui_parts(body)
    assert text_of(parts) == "Rain today, sun tomorrow: pack for both on trip T-42."
    sent = mock_call(mock, "/_mock/invocations")[-1]
    assert sent["invocationId"] == calls[0]["toolCallId"].split("#")[0]
    forecast, trip = sent["returnControlInvocationResults"]
    assert json.loads(forecast["functionResult"]["responseBody"]["TEXT"]["body"]) == {"today": "rain", "tomorrow": "sun"}
    assert trip["apiResult"]["httpMethod"] == "GET" and trip["apiResult"]["apiPath"] == "/trips/{tripId}"


def test_two_tasks_behind_one_load_balancer(mock, service):
    """Tasks share nothing: outputs taken by another task go on to Bedrock, which refuses them."""
    other = Service(mock)
    try:
        question = user("Weather?")
        _, _, body = chat(service, chat_body("shared-e2e", [question], agent="RETCTRL"))
        [call] = [part for part in ui_parts(body) if part["type"] == "tool-input-available"]
        answered = chat_body("shared-e2e", [question, assistant(tool_output(call, "15 degrees"))], agent="RETCTRL")
        _, _, body = chat(other, answered)
        assert text_of(ui_parts(body)) == "It is 15 degrees and raining in Seattle."
        status, _, _ = chat(other, answered)
        assert status == 400
        status, _, body = chat(service, answered)
        assert status == 200
        parts = ui_parts(body)
        assert [part["errorText"] for part in parts if part["type"] == "error"] == ["Bedrock refused the request as invalid."]
        assert parts[-1]["finishReason"] == "error"
    finally:
        other.stop()


@pytest.mark.parametrize("route", ["/api/agent/stream", "/api/chat"])
def test_a_quiet_stream_gets_heartbeats(service, route):
    payload = chat_body(f"quiet-{route[5:9]}", [user("Hi")], agent="FSILENT") if route == "/api/chat" \
        else {"input_text": "Hi", "agent_id": "FSILENT"}
    status, _, body = service.request("POST", route, json.dumps(payload).encode(),
                                      {"Content-Type": "application/json", "Accept": "text/event-stream"})
    assert status == 200
    events, comments = parse_sse(body)
    assert comments and set(comments) == {"ping"}
    assert body.index(b": ping") < body.index(b"error")


@pytest.mark.parametrize("route", ["/api/agent/stream", "/api/chat"])
def test_a_client_leaving_an_sse_stream_cancels_the_bedrock_call(mock, route):
    service = Service(mock)
    try:
        payload = chat_body(f"leave-{route[5:9]}", [user("Hi")], agent="SLOW") if route == "/api/chat" \
            else {"input_text": "Hi", "agent_id": "SLOW"}
        body = json.dumps(payload).encode()
        before = mock_call(mock, "/_mock/stats")["streamsInterrupted"]
        with service.connect() as sock:
            sock.sendall((f"POST {route} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                          f"Accept: text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body)
            received = b""
            while b"text-delta" not in received and b"event: chunk" not in received:
                received += sock.recv(65536)
        # SLOW has ten chunks 200 ms apart: the mock sees its stream cut well before its end.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and mock_call(mock, "/_mock/stats")["streamsInterrupted"] == before:
            time.sleep(0.05)
        assert mock_call(mock, "/_mock/stats")["streamsInterrupted"] == before + 1
        time.sleep(0.2)
        assert "Client disconnected; Bedrock request cancelled" in service.log()
    finally:
        service.stop()
