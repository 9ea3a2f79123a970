"""The published contract, `GET /openapi.json`, held to the running service.

- The document is valid OpenAPI 3.1 (openapi-spec-validator), in every access-control mode.
- schemathesis (a fixed seed, a bounded number of generated requests) finds no server error, no
  undocumented status or content type, no body or header that breaks its schema, and no
  undeclared method answered as if it existed.
- Every status and `error_code` the document gives the stream route is produced here against the
  service, and its body checked against the documented schema (jsonschema); every line of every
  fixture's stream, in both framings, against `StreamLine`, and every `/api/chat` part against
  `UIMessagePart`.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jsonschema
import pytest
import referencing
from openapi_spec_validator import validate

from binaries import BIN, ROOT, Service, ndjson

FIXTURES = sorted(path.stem for path in (ROOT / "Fixtures").glob("*.json") if path.stem != "README")
STREAM = "/api/agent/stream"


def document(service):
    status, headers, body = service.request("GET", "/openapi.json")
    assert status == 200 and headers["content-type"] == "application/json"
    return json.loads(body)


class Contract:
    """The document's schemas, resolvable by their `$ref`s."""

    def __init__(self, doc):
        self.doc = doc
        resource = referencing.Resource.from_contents(doc, default_specification=referencing.jsonschema.DRAFT202012)
        self.registry = referencing.Registry().with_resource("urn:openapi", resource)

    def schema(self, name):
        return {"$ref": f"urn:openapi#/components/schemas/{name}"}

    def check(self, instance, schema):
        if "$ref" in schema and schema["$ref"].startswith("#/"):
            schema = {"$ref": "urn:openapi" + schema["$ref"]}
        jsonschema.Draft202012Validator(self._rebased(schema), registry=self.registry).validate(instance)

    def _rebased(self, schema):
        """A schema from the document whose local `$ref`s point into the registered document."""
        text = json.dumps(schema).replace('"#/components/', '"urn:openapi#/components/')
        return json.loads(text)

    def response(self, path, method, status):
        return self.doc["paths"][path][method]["responses"][str(status)]

    def error_codes(self, path, method, status):
        schema = self.response(path, method, status)["content"]["application/json"]["schema"]
        return set(schema["allOf"][1]["properties"]["error_code"]["enum"])


@pytest.fixture(scope="module")
def open_service(mock):
    running = Service(mock, {"ALLOWED_AGENT_IDS": ",".join(FIXTURES), "MAX_REQUEST_BYTES": "4096", "REQUEST_READ_TIMEOUT_SECONDS": "1",
                             "FIRST_EVENT_TIMEOUT_SECONDS": "1.5", "IDLE_TIMEOUT_SECONDS": "1.5"})
    running.mock_url = mock
    yield running
    running.stop()


def keyed_service(mock, folder, **env):
    """A service that takes API keys (`.key` is one), with `env`."""
    key = subprocess.run([str(BIN / "bedrock-agent-streaming"), "new-api-key", "--id", "contract"],
                         capture_output=True, text=True, check=True)
    lines = [line.strip() for line in key.stdout.strip().splitlines()]
    secret = lines[1]
    entry = json.loads(lines[-1])
    (folder / "keys.json").write_text(json.dumps({"keys": [entry]}))
    running = Service(mock, {"AUTH_MODE": "api_key", "API_KEYS_FILE": str(folder / "keys.json"), **env})
    running.key = secret
    return running


@pytest.fixture(scope="module")
def keyed(mock, tmp_path_factory):
    """A service that takes API keys, with a per-principal token budget."""
    running = keyed_service(mock, tmp_path_factory.mktemp("keys"), PRINCIPAL_TOKENS_PER_HOUR="300", PRINCIPAL_REQUESTS_PER_MINUTE="1000")
    yield running
    running.stop()


def test_the_document_is_valid_openapi_in_every_mode(open_service, keyed):
    for service in (open_service, keyed):
        doc = document(service)
        validate(doc)
        assert doc["openapi"] == "3.1.1"
    keyed_doc = document(keyed)
    assert keyed_doc["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key", "description": "A key of API_KEYS_FILE."}
    operation = keyed_doc["paths"][STREAM]["post"]
    assert operation["security"] == [{"ApiKey": []}]
    assert {"401", "429"} <= set(operation["responses"])
    assert "security" not in document(open_service)["paths"][STREAM]["post"]


def test_the_documented_limits_are_the_services(open_service, fuzzed):
    request = Contract(document(fuzzed)).doc["components"]["schemas"]["StreamRequest"]
    properties = request["properties"]
    assert properties["input_text"]["maxLength"] == 25000
    assert request["anyOf"][0]["properties"]["agent_id"]["enum"] == FIXTURES
    # Each documented limit is where the service draws the line: the limit accepted, one more refused.
    for length, status in [(25000, 200), (25001, 400)]:
        assert fuzzed.stream({"input_text": "a" * length, "agent_id": "HELLO"})[0] == status, length
    # Blank is the pattern's blank, in every validator: ECMA-262's white space, not U+0085.
    blank = re.compile(properties["input_text"]["pattern"])
    for text, status in [("x", 200), (" \t\u3000\u2028\ufeff", 400), ("\u0085", 200)]:
        assert fuzzed.stream({"input_text": text, "agent_id": "HELLO"})[0] == status, repr(text)
        assert bool(blank.search(text)) == (status == 200)
    for name, values in {
        "session_id": ["ab", "a", "a" * 100, "a" * 101, "a:b.c_d-e", "a/b", "é1"],
        "agent_alias_id": ["TSTALIASID", "A", "TSTALIASID1", "ab-c"],
        "memory_id": ["mem-1", "m", "a" * 101],
    }.items():
        pattern = re.compile(properties[name]["pattern"])
        for value in values:
            status, _, body = fuzzed.stream({"input_text": "Hi", "agent_id": "HELLO", name: value})
            assert status in (200, 400), body
            assert (status == 200) == bool(pattern.fullmatch(value)), (name, value, body)
    # MAX_REQUEST_BYTES: documented as 413, refused from the declared length.
    body = json.dumps({"input_text": "a" * 5000, "agent_id": "HELLO"}).encode()
    assert open_service.request("POST", STREAM, body, {"Content-Type": "application/json"})[0] == 413


def run_schemathesis(service, *extra):
    report = Path(tempfile.mkdtemp()) / "junit.xml"
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"http://127.0.0.1:{service.port}/openapi.json",
               "--checks", "all", "--exclude-checks", "positive_data_acceptance",
               "--max-examples", os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"), "--seed", "7",
               "--request-timeout", "30", "--report", "junit", "--report-junit-path", str(report), *extra]
    # Its cache (.schemathesis/) goes beside the report, not into the working tree.
    return subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=report.parent)


@pytest.fixture(scope="module")
def fuzzed(mock):
    """The service with its default limits (a request over MAX_REQUEST_BYTES is 413, which
    schemathesis does not count as a rejection of invalid data)."""
    running = Service(mock, {"ALLOWED_AGENT_IDS": ",".join(FIXTURES)})
    yield running
    running.stop()


@pytest.mark.parametrize("mode", ["open", "api_key"])
def test_schemathesis_finds_nothing(fuzzed, keyed, mode):
    service = fuzzed if mode == "open" else keyed
    extra = [] if mode == "open" else ["--header", f"X-API-Key: {keyed.key}"]
    result = run_schemathesis(service, *extra)
    summary = result.stdout[-4000:]
    failures = result.stdout.partition("FAILURES")[2].partition("= SUMMARY")[0]
    assert result.returncode == 0, (failures or summary)[-8000:] + result.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary.split("SUMMARY")[-1], summary


def test_every_documented_status_of_the_stream_route_is_what_the_service_answers(open_service, keyed):
    contract = Contract(document(open_service))
    json_type = {"Content-Type": "application/json"}
    cases = {
        400: [(b"{", json_type, "invalid_json"), (b'{"agent_id": "HELLO"}', json_type, "invalid_request")],
        403: [(json.dumps({"input_text": "Hi", "agent_id": "NOTALLOWED"}).encode(), json_type, "agent_not_allowed")],
        413: [(b'{"input_text": "' + b"a" * 5000 + b'", "agent_id": "HELLO"}', json_type, "request_too_large")],
        415: [(b'{"input_text": "Hi", "agent_id": "HELLO"}', {"Content-Type": "text/plain"}, "unsupported_media_type")],
    }
    seen = {}
    for status, requests in cases.items():
        for body, headers, code in requests:
            got, response_headers, response = open_service.request("POST", STREAM, body, headers)
            assert got == status
            payload = json.loads(response)
            assert payload["error_code"] == code
            documented = contract.response(STREAM, "post", status)
            contract.check(payload, documented["content"]["application/json"]["schema"])
            assert "x-request-id" in response_headers
            seen.setdefault(status, set()).add(code)
    for status in cases:
        assert seen[status] <= contract.error_codes(STREAM, "post", status)

    # 408: a body that stops arriving (REQUEST_READ_TIMEOUT_SECONDS=1 here).
    with open_service.connect() as sock:
        sock.sendall(b"POST /api/agent/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        raw = b""
        while b"\r\n\r\n" not in raw or not raw.rstrip().endswith(b"}"):
            data = sock.recv(65536)
            if not data:
                break
            raw += data
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split()[1] == b"408"
    payload = json.loads(body.split(b"\r\n")[-1] if b"\r\n" in body else body)
    assert payload["error_code"] in contract.error_codes(STREAM, "post", 408)
    contract.check(payload, contract.response(STREAM, "post", 408)["content"]["application/json"]["schema"])

    # 401 and 429 where access control is on, on a service of this test's own (the budget and the
    # request bucket are its alone).
    limited = keyed_service(open_service.mock_url, Path(tempfile.mkdtemp()), PRINCIPAL_TOKENS_PER_HOUR="300",
                            PRINCIPAL_REQUESTS_PER_MINUTE="3")
    try:
        keyed_contract = Contract(document(limited))
        got, headers, body = limited.stream({"input_text": "Hi", "agent_id": "HELLO"})
        assert got == 401 and json.loads(body)["error_code"] == "authentication_required"
        assert headers["www-authenticate"].startswith("Bearer")
        got, headers, body = limited.stream({"input_text": "Hi", "agent_id": "HELLO"}, headers={"X-API-Key": "wrong-key"})
        assert got == 401 and json.loads(body)["error_code"] == "invalid_credentials"
        auth = {"X-API-Key": limited.key}
        assert limited.stream({"input_text": "Hi", "agent_id": "USAGE"}, headers=auth)[0] == 200  # spends 318 of 300
        refusals = []
        for _ in range(3):
            got, headers, body = limited.stream({"input_text": "Hi", "agent_id": "HELLO"}, headers=auth)
            assert got == 429 and int(headers["retry-after"]) > 0
            refusals.append(json.loads(body))
        # The budget refuses the second request, the bucket of 3 a minute the fourth.
        assert [r["error_code"] for r in refusals] == ["token_budget_exhausted", "token_budget_exhausted", "rate_limited"]
        for payload in refusals:
            assert payload["error_code"] in keyed_contract.error_codes(STREAM, "post", 429)
            keyed_contract.check(payload, keyed_contract.response(STREAM, "post", 429)["content"]["application/json"]["schema"])
        for status in (401,):
            assert {"authentication_required", "invalid_credentials"} <= keyed_contract.error_codes(STREAM, "post", status)
    finally:
        limited.stop()

    # 503 too_many_streams: one stream at a time, the second refused while the first runs.
    single = Service(open_service.mock_url, {"MAX_CONCURRENT_STREAMS": "1"})
    try:
        slow = {"input_text": "Hi", "agent_id": "LOADTEST", "session_attributes": {"chunks": "20", "delayMs": "100"}}
        with single.connect() as first:
            body = json.dumps(slow).encode()
            first.sendall(f"POST {STREAM} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            assert b" 200 " in first.recv(4096)
            got, headers, body = single.stream({"input_text": "Hi", "agent_id": "HELLO"})
        assert got == 503 and headers["retry-after"] == "1"
        payload = json.loads(body)
        assert payload["error_code"] == "too_many_streams" and payload["error_code"] in contract.error_codes(STREAM, "post", 503)
        contract.check(payload, contract.response(STREAM, "post", 503)["content"]["application/json"]["schema"])
    finally:
        single.stop()


def sse_events(body):
    events = []
    for block in body.decode().split("\n\n"):
        fields = {}
        for line in block.splitlines():
            if line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = fields.get(name, "") + value
        if "data" in fields:
            events.append(fields)
    return events


@pytest.mark.parametrize("agent", FIXTURES)
def test_every_line_of_every_fixture_is_a_documented_stream_line(open_service, agent):
    contract = Contract(document(open_service))
    line_schema = contract.schema("StreamLine")
    status, _, body = open_service.stream({"input_text": "Hi", "agent_id": agent})
    assert status == 200
    for line in ndjson(body):
        contract.check(line, line_schema)
    status, _, body = open_service.stream({"input_text": "Hi", "agent_id": agent}, headers={"Accept": "text/event-stream"})
    for event in sse_events(body):
        data = json.loads(event["data"])
        assert event["event"] == data["type"]
        contract.check(data, line_schema)
    chat = {"id": f"contract-{agent}", "agent_id": agent, "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "Hi"}]}]}
    status, headers, body = open_service.request("POST", "/api/chat", json.dumps(chat).encode(), {"Content-Type": "application/json"})
    assert status == 200 and headers["x-vercel-ai-ui-message-stream"] == "v1"
    events = sse_events(body)
    assert events[-1]["data"] == "[DONE]"
    for event in events[:-1]:
        contract.check(json.loads(event["data"]), contract.schema("UIMessagePart"))


def test_health_info_and_the_files_match_their_schemas(open_service):
    contract = Contract(document(open_service))
    status, _, body = open_service.request("GET", "/health")
    contract.check(json.loads(body), contract.schema("Health"))
    status, _, body = open_service.request("GET", "/")
    info = json.loads(body)
    contract.check(info, contract.schema("ServiceInfo"))
    documented = {f"{method.upper()} {path}" for path, item in contract.doc["paths"].items() for method in item}
    assert set(info["endpoints"].values()) <= documented
    status, headers, _ = open_service.request("GET", "/client/agent-stream.js")
    assert status == 200 and headers["etag"]
    assert open_service.request("GET", "/client/agent-stream.js", headers={"If-None-Match": headers["etag"]})[0] == 304
