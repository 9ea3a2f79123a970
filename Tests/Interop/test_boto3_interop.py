"""Interop: the official AWS SDK for Python (boto3) against MockBedrock, over every fixture.

boto3 signs every call (MockBedrock verifies each signature in full with the test credentials),
parses the event stream with botocore's own decoder, and raises its own exception types; nothing
here was written for MockBedrock's sake, so a pass means real clients see what the fixtures script.

Run by `make interop` (part of `make test`), which starts nothing itself: this module starts the
MockBedrock binary named by MOCK_BEDROCK_BIN on a free port.
"""
import base64
import json
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import boto3
import botocore.config
import botocore.eventstream
import botocore.exceptions
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Fixtures"
KEY_ID, SECRET = "AKIDINTEROP", "interop/secret/key"
SCRIPTED = sorted(p.stem for p in FIXTURES.glob("*.json"))
RECORDED = sorted(p.stem for p in FIXTURES.glob("*.eventstream"))
MODELED = ["accessDenied", "badGateway", "conflict", "dependencyFailed", "internalServer", "modelNotReady",
           "resourceNotFound", "serviceQuotaExceeded", "throttling", "validation"]


@pytest.fixture(scope="module")
def endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    binary = os.environ.get("MOCK_BEDROCK_BIN", str(ROOT / ".build/debug/MockBedrock"))
    process = subprocess.Popen(
        [binary, "--port", str(port), "--fixtures", str(FIXTURES),
         "--access-key-id", KEY_ID, "--secret-access-key", SECRET],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("MockBedrock exited: " + process.stdout.read())
            time.sleep(0.05)
    else:
        process.kill()
        raise RuntimeError("MockBedrock did not start listening within 30 s")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def client(endpoint, read_timeout=30):
    return boto3.client(
        "bedrock-agent-runtime", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
        config=botocore.config.Config(read_timeout=read_timeout, retries={"total_max_attempts": 1}))


def invoke(endpoint, agent, read_timeout=30, **extra):
    arguments = dict(agentId=agent, agentAliasId="TSTALIASID", sessionId=f"interop-{uuid.uuid4().hex[:12]}",
                     inputText="Hello", enableTrace=True, streamingConfigurations={"streamFinalResponse": True})
    arguments.update(extra)
    return client(endpoint, read_timeout).invoke_agent(**arguments)


def expected_events(scenario):
    """What botocore should yield for a scenario played with enableTrace and streamFinalResponse."""
    events = []
    for step in scenario["steps"]:
        kind = next(iter(k for k in step if k not in ("citations", "message")))
        if kind in ("chunk", "chunkBase64"):
            data = step["chunk"].encode() if kind == "chunk" else base64.b64decode(step["chunkBase64"])
            events.append(("chunk", data))
        elif kind in ("trace", "files"):
            events.append((kind, step[kind]))
        elif kind == "returnControl":
            events.append(("returnControl", step["returnControl"]["invocationId"]))
            break
        elif kind in ("exception", "error", "fault"):
            break
    return events


def collect(response):
    events = []
    for event in response["completion"]:
        (kind, body), = event.items()
        events.append((kind, body))
    return events


def scenario(agent):
    return json.loads((FIXTURES / f"{agent}.json").read_text())


def plays_to_the_end(agent):
    """Scenarios that end normally (the others have tests of their own below)."""
    fixture = scenario(agent)
    ends_badly = any(key in step for step in fixture["steps"] for key in ("fault", "exception", "error"))
    always_refused = "httpError" in fixture and "times" not in fixture["httpError"]
    return not ends_badly and not always_refused


@pytest.mark.parametrize("agent", [agent for agent in SCRIPTED if plays_to_the_end(agent)])
def test_scripted_events(endpoint, agent):
    fixture = scenario(agent)
    failures = fixture.get("httpError", {}).get("times", 0)
    for _ in range(failures):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            invoke(endpoint, agent)
        assert refused.value.response["Error"]["Code"] == fixture["httpError"]["type"]
    for _ in range(fixture.get("firstSteps", {}).get("times", 0)):
        # The first calls break as scripted (a dropped connection): botocore reports it.
        with pytest.raises(Exception):
            collect(invoke(endpoint, agent))
    response = invoke(endpoint, agent)
    assert response["sessionId"].startswith("interop-")
    assert response["contentType"] == "application/json"
    got = collect(response)
    want = expected_events(fixture)
    assert [kind for kind, _ in got] == [kind for kind, _ in want]
    for (kind, body), (_, expected) in zip(got, want):
        if kind == "chunk":
            assert body["bytes"] == expected
            if "citations" in json.dumps(fixture):
                assert body["attribution"]["citations"]
        elif kind == "trace":
            # botocore turns the modeled timestamp into a datetime; everything else arrives as scripted.
            assert body.pop("eventTime").isoformat().startswith(expected.pop("eventTime")[:19])
            assert body == expected
        elif kind == "files":
            assert [(f["name"], f["type"]) for f in body["files"]] == [(f["name"], f["type"]) for f in expected]
            assert body["files"][0]["bytes"] == expected[0]["text"].encode()
        elif kind == "returnControl":
            assert body["invocationId"] == expected


@pytest.mark.parametrize("name", MODELED)
def test_modeled_exception_mid_stream(endpoint, name):
    agent = "EX" + {"accessDenied": "ACCESS", "badGateway": "BADGW", "conflict": "CONFLICT", "dependencyFailed": "DEPFAIL",
                    "internalServer": "INTERNAL", "modelNotReady": "NOTREADY", "resourceNotFound": "NOTFOUND",
                    "serviceQuotaExceeded": "QUOTA", "throttling": "THROTTLE", "validation": "VALID"}[name]
    response = invoke(endpoint, agent)
    events = []
    with pytest.raises(botocore.exceptions.EventStreamError) as raised:
        for event in response["completion"]:
            events.append(event)
    assert events == [{"chunk": {"bytes": b"Partial answer"}}]
    assert raised.value.response["Error"]["Code"] == name + "Exception"


@pytest.mark.parametrize("name", MODELED)
def test_modeled_exception_as_http_error(endpoint, name):
    agent = "HT" + {"accessDenied": "ACCESS", "badGateway": "BADGW", "conflict": "CONFLICT", "dependencyFailed": "DEPFAIL",
                    "internalServer": "INTERNAL", "modelNotReady": "NOTREADY", "resourceNotFound": "NOTFOUND",
                    "serviceQuotaExceeded": "QUOTA", "throttling": "THROTTLE", "validation": "VALID"}[name]
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        invoke(endpoint, agent)
    error = raised.value.response["Error"]
    type_name = name[0].upper() + name[1:] + "Exception"
    assert error["Code"] == type_name
    assert error["Message"].startswith("Mock ")
    # botocore maps modeled errors to their own exception classes.
    assert type(raised.value).__name__ == type_name


def test_unmodeled_error_frame(endpoint):
    response = invoke(endpoint, "ERRFRAME")
    with pytest.raises(botocore.exceptions.EventStreamError) as raised:
        collect(response)
    assert raised.value.response["Error"]["Code"] == "InternalFailure"
    assert raised.value.response["Error"]["Message"] == "Mock unmodeled failure"


def test_bad_checksum_is_caught_by_botocore(endpoint):
    response = invoke(endpoint, "FBADCRC")
    events = []
    with pytest.raises(botocore.eventstream.ChecksumMismatch):
        for event in response["completion"]:
            events.append(event)
    assert events == [{"chunk": {"bytes": b"Before the fault. "}}]


def test_dropped_connection_fails_the_stream(endpoint):
    response = invoke(endpoint, "FDROP")
    events = []
    with pytest.raises(Exception) as raised:
        for event in response["completion"]:
            events.append(event)
    assert events == [{"chunk": {"bytes": b"Before the fault. "}}]
    assert not isinstance(raised.value, botocore.exceptions.EventStreamError)


def test_stall_times_out(endpoint):
    response = invoke(endpoint, "FSTALL", read_timeout=1)
    events = []
    with pytest.raises(Exception) as raised:
        for event in response["completion"]:
            events.append(event)
    assert events == [{"chunk": {"bytes": b"Before the stall. "}}]
    assert "timed out" in str(raised.value).lower()


@pytest.mark.parametrize("agent", RECORDED)
def test_recordings(endpoint, agent):
    summary = json.loads((FIXTURES / "captures" / f"{agent}.json").read_text())
    counts, text = {}, b""
    for kind, body in collect(invoke(endpoint, agent)):
        counts[kind] = counts.get(kind, 0) + 1
        if kind == "chunk":
            text += body["bytes"]
    assert counts == summary["events"]
    assert text.decode() == summary["final_text"]


def test_return_control_round_trip(endpoint):
    session = f"interop-{uuid.uuid4().hex[:12]}"
    bedrock = client(endpoint)
    common = dict(agentId="RETCTRL", agentAliasId="TSTALIASID", sessionId=session,
                  streamingConfigurations={"streamFinalResponse": True})
    first = collect(bedrock.invoke_agent(inputText="Weather in Seattle?", **common))
    control = first[-1][1]
    assert first[-1][0] == "returnControl"
    function = control["invocationInputs"][0]["functionInvocationInput"]
    assert function["function"] == "get_weather"
    results = [{"functionResult": {"actionGroup": function["actionGroup"], "function": function["function"],
                                   "responseBody": {"TEXT": {"body": "15 degrees, raining"}}}}]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        bedrock.invoke_agent(sessionState={"invocationId": "wrong", "returnControlInvocationResults": results}, **common)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    second = collect(bedrock.invoke_agent(
        sessionState={"invocationId": control["invocationId"], "returnControlInvocationResults": results}, **common))
    assert b"".join(body["bytes"] for kind, body in second if kind == "chunk") == b"It is 15 degrees and raining in Seattle."


def test_without_stream_final_response_one_chunk(endpoint):
    events = collect(invoke(endpoint, "HELLO", streamingConfigurations={"streamFinalResponse": False}))
    assert [kind for kind, _ in events] == ["trace", "chunk"]
    assert events[1][1]["bytes"] == b"Hello! I am MockBedrock, an offline Bedrock agent. How can I help?"


def test_load_agent(endpoint):
    events = collect(invoke(endpoint, "LOADTEST", sessionState={"sessionAttributes": {"chunks": "52", "chunkBytes": "7"}}))
    assert [body["bytes"] for _, body in events] == [bytes([97 + i % 26]) * 7 for i in range(52)]


def test_wrong_secret_is_refused(endpoint):
    bad = boto3.client("bedrock-agent-runtime", region_name="us-east-1", endpoint_url=endpoint,
                       aws_access_key_id=KEY_ID, aws_secret_access_key="not-the-secret",
                       config=botocore.config.Config(retries={"total_max_attempts": 1}))
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        bad.invoke_agent(agentId="HELLO", agentAliasId="TSTALIASID", sessionId="interop-bad", inputText="hi")
    assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_unknown_agent(endpoint):
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        invoke(endpoint, "NOSUCH")
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_sts_get_caller_identity(endpoint):
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=endpoint,
                       aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET)
    identity = sts.get_caller_identity()
    assert identity["Account"] == "123456789012"
