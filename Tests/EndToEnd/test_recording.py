"""`MockBedrock record` end to end: a second MockBedrock plays AWS (signatures checked in full, so
the recorder's re-signing is proven), the recorder forwards to it and records, and a MockBedrock
serving the recordings replays them. The service's NDJSON through the recorder and from the
replay is compared with the service's NDJSON from the upstream directly; boto3 reads a replay as
it read the original; frame bytes, redaction, pacing, errors, runtimes and the summary lines are
checked on the files and the processes themselves."""
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
import pytest

from binaries import BIN, KEY_ID, ROOT, SECRET, Service, free_port, ndjson, wait_listening

RUNTIME_ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/strands_hello-Ab12Cd34Ef"
UPSTREAM_ACCOUNTS = ["503561449716", "123456789012"]
SERVICE_ENV = {"DEBUG_MODE": "true", "UPSTREAM_MAX_ATTEMPTS": "1"}

# What the service is asked, each as its own session (a session id per run is added).
REQUESTS = {
    "hello": {"agent_id": "HELLO", "input_text": "Hi"},
    "capmulti": {"agent_id": "CAPMULTI", "input_text": "Plan it", "enable_trace": True},
    "cited": {"agent_id": "CITED", "input_text": "What are agents?"},
    "utf8": {"agent_id": "UTF8SPLIT", "input_text": "Accents"},
    "exception": {"agent_id": "EXACCESS", "input_text": "Hi"},
    "throttled": {"agent_id": "HTTHROTTLE", "input_text": "Hi"},
    "runtime": {"agent_runtime_arn": RUNTIME_ARN, "input_text": "Hello"},
}


def content(lines):
    """The NDJSON lines without what differs between two runs: times, request and session ids."""
    return [{k: v for k, v in line.items() if k not in ("timestamp", "request_id", "session_id")} for line in lines]


class Process:
    """A MockBedrock process (`record` or a replaying server) on a free port; its output in a file."""

    def __init__(self, arguments, env=None, name="MockBedrock"):
        self.port = free_port()
        self.output = Path(os.environ.get("TMPDIR", "/tmp")) / f"recording-{name}-{self.port}.log"
        self.file = open(self.output, "w+")
        variables = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent", **(env or {})}
        self.process = subprocess.Popen([str(BIN / "MockBedrock"), *arguments, "--port", str(self.port)],
                                        env=variables, stdout=self.file, stderr=subprocess.STDOUT)
        wait_listening(self.port, self.process, name)
        self.url = f"http://127.0.0.1:{self.port}"

    def log(self):
        self.file.flush()
        return self.output.read_text()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=15)


def recorder(upstream, folder, redact=False):
    """The recorder, with credentials from the environment (the chain's first source) that the
    upstream checks; the clients in front of it sign with other keys, which it must not forward."""
    env = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-east-1",
           "AWS_EC2_METADATA_DISABLED": "true"}
    return Process(["record", "--upstream", upstream, "--fixtures", str(folder)] + (["--redact"] if redact else []),
                   env, "record")


def replay(folder, full_speed=False):
    return Process(["--fixtures", str(folder), "--access-key-id", KEY_ID, "--secret-access-key", SECRET]
                   + (["--full-speed"] if full_speed else []), name="replay")


def run_all(service, tag):
    """Every request through `service`; a return-control exchange as two requests."""
    outputs = {}
    for name, request in REQUESTS.items():
        status, _, body = service.stream({**request, "session_id": f"{tag}-{name}"})
        assert status == 200, (name, body)
        outputs[name] = content(ndjson(body))
    session = f"{tag}-retctrl"
    status, _, body = service.stream({"agent_id": "RETCTRL", "input_text": "Weather?", "session_id": session})
    first = ndjson(body)
    asked = next(line for line in first if line["type"] == "return_control")
    results = [{"functionResult": {"actionGroup": "WeatherActions", "function": "get_weather",
                                   "responseBody": {"TEXT": {"body": "15 degrees"}}}}]
    status, _, body = service.stream({"agent_id": "RETCTRL", "session_id": session, "invocation_id": asked["invocation_id"],
                                      "return_control_invocation_results": results})
    outputs["retctrl"] = content(first) + content(ndjson(body))
    return outputs


def bedrock(endpoint, access_key="AKIDCLIENTONLY", secret="client/secret/the/upstream/does/not/know"):
    return boto3.client("bedrock-agent-runtime", region_name="us-east-1", endpoint_url=endpoint,
                        aws_access_key_id=access_key, aws_secret_access_key=secret,
                        config=botocore.config.Config(retries={"total_max_attempts": 1}, read_timeout=30))


def agentcore(endpoint, access_key="AKIDCLIENTONLY", secret="client/secret/the/upstream/does/not/know"):
    return boto3.client("bedrock-agentcore", region_name="us-east-1", endpoint_url=endpoint,
                        aws_access_key_id=access_key, aws_secret_access_key=secret,
                        config=botocore.config.Config(retries={"total_max_attempts": 1}, read_timeout=30))


def boto3_events(client, agent_id, session, **extra):
    """InvokeAgent through boto3: the events as (type, payload), and the error code if it raised."""
    events, error = [], None
    try:
        response = client.invoke_agent(agentId=agent_id, agentAliasId="TSTALIASID", sessionId=session, inputText="Hi",
                                       enableTrace=True, streamingConfigurations={"streamFinalResponse": True}, **extra)
        for event in response["completion"]:
            events.append(event)
    except botocore.exceptions.ClientError as raised:
        error = (raised.response["Error"]["Code"], raised.response["Error"].get("Message"))
    except botocore.exceptions.EventStreamError as raised:
        error = (raised.response["Error"]["Code"], raised.response["Error"].get("Message"))
    return events, error


@pytest.fixture(scope="module")
def direct(mock):
    """The service's answers straight from the upstream."""
    service = Service(mock, SERVICE_ENV)
    yield run_all(service, "direct")
    service.stop()


@pytest.fixture(scope="module")
def recorded(mock, tmp_path_factory):
    """Everything recorded once through the recorder, unredacted: the folder, the outputs the
    service streamed through it, and the recorder's printed summaries."""
    folder = tmp_path_factory.mktemp("recorded")
    running = recorder(mock, folder)
    service = Service(running.url, {**SERVICE_ENV, "AWS_ACCESS_KEY_ID": "AKIDCLIENTONLY",
                                    "AWS_SECRET_ACCESS_KEY": "client/secret/the/upstream/does/not/know"})
    outputs = run_all(service, "recorded")
    # Straight through boto3 too: the captures, SLOW for pacing, LOADTEST answers of two inputs, a runtime.
    client = bedrock(running.url)
    for agent in ["CAPKB", "CAPGUARD", "SLOW"]:
        boto3_events(client, agent, f"boto3-{agent.lower()}")
    for chunks in ["2", "3"]:
        client.invoke_agent(agentId="LOADTEST", agentAliasId="TSTALIASID", sessionId="load-session", inputText=f"{chunks} chunks",
                            sessionState={"sessionAttributes": {"chunks": chunks, "chunkBytes": "5"}})["completion"].close()
    service.stop()
    time.sleep(0.3)
    running.stop()
    yield {"folder": folder, "outputs": outputs, "log": running.log()}


@pytest.fixture(scope="module")
def replaying(recorded):
    running = replay(recorded["folder"])
    yield running
    running.stop()


def test_the_service_through_the_recorder_streams_what_it_streams_from_the_upstream(direct, recorded):
    for name in direct:
        assert recorded["outputs"][name] == direct[name], name


def test_the_replay_gives_the_service_the_same_answers(direct, replaying):
    service = Service(replaying.url, SERVICE_ENV)
    try:
        replayed = run_all(service, "replayed")
    finally:
        service.stop()
    for name in direct:
        assert replayed[name] == direct[name], name


def test_recorded_frames_are_the_upstream_bytes(recorded):
    agents = recorded["folder"] / "recordings" / "agents"
    for capture in ["CAPMULTI", "CAPKB", "CAPGUARD"]:
        assert (agents / capture / "1.eventstream").read_bytes() == (ROOT / "Fixtures" / f"{capture}.eventstream").read_bytes()
        index = json.loads((agents / capture / "recording.json").read_text())
        answer = index["answers"][0]
        assert answer["status"] == 200 and answer["redacted"] is False
        assert sum(piece["bytes"] for piece in answer["pieces"]) == len((agents / capture / "1.eventstream").read_bytes())


def test_the_recorder_prints_a_summary_per_recording(recorded):
    log = recorded["log"]
    assert "recorded InvokeAgent CAPMULTI #1: 200, 34 frames (chunk 1, trace 33), 67410 bytes in" in log
    assert "recorded InvokeAgent HTTHROTTLE #1: 429 ThrottlingException" in log
    assert "recorded InvokeAgentRuntime strands_hello #1: 200," in log and " events, " in log
    assert "recorded InvokeAgent RETCTRL #2: 200" in log


def test_boto3_reads_a_replay_as_it_read_the_original(mock, replaying):
    for agent in ["CAPMULTI", "CAPKB", "CAPGUARD", "HELLO", "EXACCESS", "HTTHROTTLE"]:
        original = boto3_events(bedrock(mock, KEY_ID, SECRET), agent, f"original-{agent.lower()}")
        replayed = boto3_events(bedrock(replaying.url, KEY_ID, SECRET), agent, f"replayed-{agent.lower()}")
        assert replayed == original, agent
    _, error = boto3_events(bedrock(replaying.url, KEY_ID, SECRET), "HTTHROTTLE", "again")
    assert error[0] == "ThrottlingException"


def test_a_recorded_runtime_replays_its_bytes(mock, replaying):
    def read(endpoint, key, secret):
        response = agentcore(endpoint, key, secret).invoke_agent_runtime(
            agentRuntimeArn=RUNTIME_ARN, payload=json.dumps({"prompt": "Hello"}).encode(), contentType="application/json",
            accept="text/event-stream", runtimeSessionId=f"runtime-session-{uuid.uuid4()}")
        return response["contentType"], response["response"].read()
    assert read(replaying.url, KEY_ID, SECRET) == read(mock, KEY_ID, SECRET)


def test_answers_are_chosen_by_input_else_replayed_in_order(replaying):
    client = bedrock(replaying.url, KEY_ID, SECRET)

    def chunks(text):
        response = client.invoke_agent(agentId="LOADTEST", agentAliasId="TSTALIASID", sessionId="any-session", inputText=text)
        # The chunks of 5 bytes each (joined into one, as they were recorded without streamFinalResponse).
        return len(b"".join(event["chunk"]["bytes"] for event in response["completion"] if "chunk" in event)) // 5
    assert chunks("3 chunks") == 3
    assert chunks("2 chunks") == 2
    assert chunks("3 chunks") == 3
    assert [chunks("another question") for _ in range(3)] == [2, 3, 2]


def test_a_replay_keeps_the_recorded_pace_or_runs_at_full_speed(recorded, replaying):
    answer = json.loads((recorded["folder"] / "recordings/agents/SLOW/recording.json").read_text())["answers"][0]
    recorded_ms = [piece["atMs"] for piece in answer["pieces"]]
    assert recorded_ms[-1] >= 1_700  # ten chunks 200 ms apart

    def arrivals(endpoint):
        response = bedrock(endpoint, KEY_ID, SECRET).invoke_agent(
            agentId="SLOW", agentAliasId="TSTALIASID", sessionId="pace-session", inputText="Hi", enableTrace=True,
            streamingConfigurations={"streamFinalResponse": True})
        start, times = time.monotonic(), []
        for event in response["completion"]:
            times.append((time.monotonic() - start) * 1000)
        return times
    paced = arrivals(replaying.url)
    assert len(paced) == len(recorded_ms)
    # Each piece no earlier than recorded (less the head's own latency) and not far behind.
    offsets = [seen - (at - recorded_ms[0]) for seen, at in zip(paced, recorded_ms)]
    assert all(-30 <= offset <= 250 for offset in offsets), offsets
    fast = replay(recorded["folder"], full_speed=True)
    try:
        assert arrivals(fast.url)[-1] < recorded_ms[-1] / 2
    finally:
        fast.stop()


@pytest.fixture(scope="module")
def redacted(mock, tmp_path_factory):
    folder = tmp_path_factory.mktemp("redacted")
    running = recorder(mock, folder, redact=True)
    service = Service(running.url, SERVICE_ENV)
    outputs = {}
    for name in ["capmulti", "exception", "runtime"]:
        status, _, body = service.stream({**REQUESTS[name], "session_id": f"secret-session-{name}-0001"})
        assert status == 200
        outputs[name] = content(ndjson(body))
    service.stop()
    time.sleep(0.3)
    running.stop()
    yield {"folder": folder, "outputs": outputs, "log": running.log()}


def test_redaction_leaves_no_account_or_session_in_any_file(redacted):
    files = [path for path in redacted["folder"].rglob("*") if path.is_file()]
    assert len(files) == 6
    for path in files:
        data = path.read_bytes()
        for secret in UPSTREAM_ACCOUNTS + ["secret-session-"]:
            assert secret.encode() not in data, (path, secret)
    capmulti = (redacted["folder"] / "recordings/agents/CAPMULTI/1.eventstream").read_bytes()
    assert b"arn:aws:bedrock:us-east-1:000000000000:agent-alias/" in capmulti
    assert all(answer["redacted"] for answer in json.loads(
        (redacted["folder"] / "recordings/agents/CAPMULTI/recording.json").read_text())["answers"])
    assert "redacted" in redacted["log"]


def test_redacted_frames_have_valid_checksums_and_replay(direct, redacted):
    for agent in ["CAPMULTI", "EXACCESS"]:
        inspected = subprocess.run([str(BIN / "MockBedrock"), "inspect", str(redacted["folder"] / "recordings/agents" / agent)],
                                   capture_output=True, text=True, timeout=30)
        assert inspected.returncode == 0, inspected.stdout + inspected.stderr
        lines = [json.loads(line) for line in inspected.stdout.splitlines()]
        assert lines[0]["answer"] == 1 and lines[0]["redacted"] is True
        assert all("at_ms" in line and "error" not in line for line in lines[1:])
    running = replay(redacted["folder"])
    service = Service(running.url, SERVICE_ENV)
    try:
        status, _, body = service.stream({**REQUESTS["capmulti"], "session_id": "any-session"})
        replayed = content(ndjson(body))
    finally:
        service.stop()
        running.stop()
    # The answer's text is the agent's, with only the account ids of its traces replaced.
    text = [line.get("content") for line in replayed if line["type"] == "chunk"]
    assert text == [line.get("content") for line in direct["capmulti"] if line["type"] == "chunk"]
    assert json.dumps(replayed).replace("000000000000", "503561449716") == json.dumps(direct["capmulti"])


def test_the_client_signature_is_not_forwarded(mock, tmp_path):
    """A recorder whose own credentials the upstream does not know records the upstream's refusal:
    the client's valid signature was not what reached the upstream."""
    env = {"AWS_ACCESS_KEY_ID": "AKIDUNKNOWN", "AWS_SECRET_ACCESS_KEY": "wrong", "AWS_REGION": "us-east-1",
           "AWS_EC2_METADATA_DISABLED": "true"}
    running = Process(["record", "--upstream", mock, "--fixtures", str(tmp_path)], env, "record")
    try:
        _, error = boto3_events(bedrock(running.url, KEY_ID, SECRET), "HELLO", "signed-by-client")
    finally:
        running.stop()
    assert error[0] == "UnrecognizedClientException"
