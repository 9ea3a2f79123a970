"""Access control end to end: AUTH_MODE, API keys and JWTs, against the service binary and MockBedrock.

Tokens come from MockBedrock's OIDC issuer (`/oidc/token`) or are forged here with PyJWT,
cryptography and by hand. Every refused request is also checked against MockBedrock: a request
that fails authentication must never reach InvokeAgent. Run by `make hardening` (part of
`make test`) on the debug binaries.
"""
import base64
import hashlib
import hmac
import json
import re
import secrets
import signal
import subprocess
import time
import urllib.parse
import urllib.request
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from binaries import BIN, KEY_ID, SECRET, Service, free_port, mock_call, ndjson, read_until_closed, stats

AUDIENCE = "mock-client"
ORIGIN = "https://app.example.com"
REFETCH_INTERVAL = 10  # seconds: JWKSSource.minimumRefetchInterval
HEX64 = re.compile(r"^[0-9a-f]{64}$")


# MARK: MockBedrock


def invocations_marked(mock, marker):
    """The InvokeAgent calls MockBedrock received whose session attributes carry `marker`, in order."""
    return [call for call in mock_call(mock, "/_mock/invocations")
            if (call.get("sessionAttributes") or {}).get("marker") == marker]


def issuer(mock):
    return mock + "/oidc"


def token(mock, sub="alice", **fields):
    """A token signed by MockBedrock's current key; `fields` as `/oidc/token` takes them."""
    form = {"grant_type": "client_credentials", "sub": sub, "audience": AUDIENCE, "expires_in": 3600}
    form.update(fields)
    return mock_call(mock, "/oidc/token", form)["access_token"]


def current_jwk(mock):
    return mock_call(mock, "/oidc/jwks.json")["keys"][-1]  # the current key is the last one


# MARK: Forging


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value):
    return b64url(json.dumps(value, separators=(",", ":")))


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims(mock, sub="mallory"):
    now = int(time.time())
    return {"iss": issuer(mock), "sub": sub, "aud": AUDIENCE, "iat": now, "exp": now + 3600}


def jwk_public_pem(jwk):
    numbers = rsa.RSAPublicNumbers(int.from_bytes(unb64url(jwk["e"]), "big"), int.from_bytes(unb64url(jwk["n"]), "big"))
    return numbers.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


FORGER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def forged_rs256(mock, kid, sub="mallory"):
    """A well-formed RS256 token for the right issuer and audience, signed with a key of our own."""
    return jwt.encode(claims(mock, sub), FORGER_KEY, algorithm="RS256", headers={"kid": kid})


def hs256_with_public_key(mock):
    # The classic key-confusion attack; PyJWT refuses a PEM as an HMAC secret, so by hand.
    jwk = current_jwk(mock)
    signing_input = b64url_json({"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}) + "." + b64url_json(claims(mock))
    signature = hmac.new(jwk_public_pem(jwk), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def alg_none(mock, signature=""):
    header = {"alg": "none", "typ": "JWT", "kid": current_jwk(mock)["kid"]}
    return b64url_json(header) + "." + b64url_json(claims(mock)) + "." + signature


def tampered(mock):
    header, payload, signature = token(mock, sub="alice").split(".")
    fields = json.loads(unb64url(payload))
    fields["sub"] = "admin"
    return header + "." + b64url_json(fields) + "." + signature


def huge_token(mock):
    header = b64url_json({"alg": "RS256", "typ": "JWT", "kid": current_jwk(mock)["kid"]})
    signature = b64url(secrets.token_bytes(256))
    return header + "." + "A" * (65_536 - len(header) - len(signature) - 2) + "." + signature


# MARK: Service helpers


def new_key():
    return "bas_" + secrets.token_urlsafe(32)


def write_keys(path, keys):
    """`keys`: id -> (key, agents or None), as API_KEYS_FILE."""
    entries = []
    for key_id, (key, agents) in keys.items():
        entry = {"id": key_id, "sha256": hashlib.sha256(key.encode()).hexdigest()}
        if agents is not None:
            entry["agents"] = agents
        entries.append(entry)
    path.write_text(json.dumps({"keys": entries}))


def hello(session_id=None, **fields):
    payload = {"input_text": "Hello", "agent_id": "HELLO", "session_id": session_id or f"ac-{uuid.uuid4().hex}"}
    payload.update(fields)
    return payload


def bearer(value):
    return {"Authorization": f"Bearer {value}"}


def api_key(value):
    return {"X-API-Key": value}


def credentials_in(headers):
    """The tokens and keys in `headers` (none for an empty bearer)."""
    values = [headers.get("Authorization", "").partition("Bearer ")[2], headers.get("X-API-Key", "")]
    return [value for value in values if value]


def error_of(body):
    return json.loads(body)["error_code"]


def auth_failures(service):
    """`http_auth_failures_total` by reason, from /metrics."""
    status, _, body = service.request("GET", "/metrics")
    assert status == 200
    counts = {}
    for match in re.finditer(r'^http_auth_failures_total\{reason="([^"]+)"\} (\S+)$', body.decode(), re.M):
        counts[match.group(1)] = float(match.group(2))
    return counts


def wait_for_log(service, text, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in service.log():
            return
        time.sleep(0.05)
    raise AssertionError(f"no {text!r} in the log within {timeout} s:\n{service.log()[-3000:]}")


def wait_for_jwks_fetch(mock, before, timeout=10):
    """Waits until MockBedrock has served the JWKS more than `before` times; the time it saw that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stats(mock)["jwksRequests"] > before:
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError("the service did not fetch the JWKS at start")


def assert_streams(service, headers, session_id=None):
    payload = hello(session_id)
    status, _, body = service.stream(payload, headers=headers)
    assert status == 200, body
    lines = ndjson(body)
    assert lines[0]["type"] == "start" and lines[0]["session_id"] == payload["session_id"]
    assert lines[-1]["type"] == "completion" and lines[-1]["session_id"] == payload["session_id"]
    return lines


def assert_refused_unseen(service, mock, headers, status=401, code="invalid_credentials", payload=None):
    """The stream request is refused with `status` and `code`, and MockBedrock received no call."""
    before = stats(mock)["invocations"]
    got, response_headers, body = service.stream(payload or hello(), headers=headers)
    assert got == status, body
    assert error_of(body) == code, body
    assert stats(mock)["invocations"] == before, "a refused request reached InvokeAgent"
    return response_headers, body


def open_stream(service, payload, headers):
    """Sends a stream request on a raw socket and reads until its start line; the socket and what was read."""
    body = json.dumps(payload).encode()
    head = ["POST /api/agent/stream HTTP/1.1", "Host: localhost", "Connection: close",
            "Content-Type: application/json", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    sock = service.connect(timeout=15)
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    received = b""
    while b'"type":"start"' not in received:
        data = sock.recv(65536)
        assert data, f"the stream closed before its start line: {received!r}"
        received += data
    assert received.startswith(b"HTTP/1.1 200"), received
    return sock, received


# MARK: Fixtures

KEYS = {"team-a": (new_key(), None), "team-b": (new_key(), None), "team-narrow": (new_key(), ["HELLO"])}
# Every credential sent to `access`: none may appear in its log.
SENT = [key for key, _ in KEYS.values()]


@pytest.fixture(scope="module")
def access(mock, tmp_path_factory):
    """api_key and jwt together, forwarding two claims, CORS for one origin."""
    keys_file = tmp_path_factory.mktemp("access") / "keys.json"
    write_keys(keys_file, KEYS)
    running = Service(mock, {
        "AUTH_MODE": "api_key,jwt", "API_KEYS_FILE": str(keys_file),
        "JWT_ISSUER": issuer(mock), "JWT_AUDIENCE": f"{AUDIENCE},second-audience",
        "JWT_FORWARD_CLAIMS": "email,cognito:groups", "ALLOWED_ORIGINS": ORIGIN,
    })
    yield running
    running.stop()


@pytest.fixture(scope="module", autouse=True)
def refetching(mock):
    """Two jwt services started first, so that by the tests at the end of the file their 10 s
    between JWKS fetches has passed (mostly while the other tests ran); each with the time its
    start-up fetch was seen."""
    started = {}
    for name in ("unknown_kid", "rotation"):
        before = stats(mock)["jwksRequests"]
        running = Service(mock, {"AUTH_MODE": "jwt", "JWT_ISSUER": issuer(mock), "JWT_AUDIENCE": AUDIENCE})
        started[name] = (running, wait_for_jwks_fetch(mock, before))
    yield started
    for running, _ in started.values():
        running.stop()


def wait_refetch_allowed(fetched_at):
    remaining = fetched_at + REFETCH_INTERVAL + 0.5 - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


# MARK: 1. Bad credentials


BAD_CREDENTIALS = {
    # name: (headers for the service, the error_code, the http_auth_failures_total reason)
    "no-credentials": (lambda mock: {}, "authentication_required", "missing"),
    "empty-bearer": (lambda mock: {"Authorization": "Bearer "}, "invalid_credentials", "malformed"),
    "garbage-bearer": (lambda mock: bearer("abc.def"), "invalid_credentials", "malformed"),
    "other-rsa-key-same-kid": (lambda mock: bearer(forged_rs256(mock, current_jwk(mock)["kid"])),
                               "invalid_credentials", "bad_signature"),
    "alg-none": (lambda mock: bearer(alg_none(mock)), "invalid_credentials", "malformed"),
    "alg-none-with-signature": (lambda mock: bearer(alg_none(mock, b64url(b"x" * 32))), "invalid_credentials", "algorithm"),
    "hs256-public-key-as-secret": (lambda mock: bearer(hs256_with_public_key(mock)), "invalid_credentials", "algorithm"),
    "wrong-issuer": (lambda mock: bearer(token(mock, issuer="http://127.0.0.1:1/oidc")), "invalid_credentials", "wrong_issuer"),
    "wrong-audience": (lambda mock: bearer(token(mock, audience="someone-else")), "invalid_credentials", "wrong_audience"),
    "expired-beyond-leeway": (lambda mock: bearer(token(mock, expires_in=-3600)), "invalid_credentials", "expired"),
    "not-yet-valid": (lambda mock: bearer(token(mock, not_before_in=3600)), "invalid_credentials", "not_yet_valid"),
    "tampered-payload": (lambda mock: bearer(tampered(mock)), "invalid_credentials", "bad_signature"),
    "64kb-token": (lambda mock: bearer(huge_token(mock)), "invalid_credentials", "malformed"),
    "unknown-api-key": (lambda mock: api_key(new_key()), "invalid_credentials", "unknown_api_key"),
    "unknown-kid": (lambda mock: bearer(forged_rs256(mock, "forged-kid")), "invalid_credentials", "unknown_key"),
}


@pytest.mark.parametrize("case", list(BAD_CREDENTIALS))
def test_bad_credentials_are_401_and_never_reach_bedrock(access, mock, case):
    make_headers, code, reason = BAD_CREDENTIALS[case]
    headers = make_headers(mock)
    sent = credentials_in(headers)
    SENT.extend(sent)
    failures_before = auth_failures(access)
    response_headers, body = assert_refused_unseen(access, mock, headers, code=code)
    if code == "authentication_required":
        assert response_headers["www-authenticate"] == "Bearer"
    else:
        assert response_headers["www-authenticate"] == 'Bearer error="invalid_token"'
    for credential in sent:
        assert credential[-16:] not in body.decode()
    failures = auth_failures(access)
    assert failures.get(reason, 0) == failures_before.get(reason, 0) + 1, (reason, failures_before, failures)


# MARK: 2. Valid credentials


def test_a_valid_jwt_streams(access, mock):
    credential = token(mock, sub="valid-jwt-user")
    SENT.append(credential)
    assert_streams(access, bearer(credential))


def test_a_valid_jwt_for_the_second_audience_streams(access, mock):
    credential = token(mock, sub="valid-jwt-user", audience="second-audience")
    SENT.append(credential)
    assert_streams(access, bearer(credential))


def test_a_valid_api_key_streams(access):
    assert_streams(access, api_key(KEYS["team-a"][0]))


def test_credentials_never_reach_the_log(access):
    access.request("GET", "/health")
    time.sleep(0.3)
    log = access.log()
    assert "principal_id" in log or "team-a" in log, "the log holds no line of an authenticated request"
    for credential in SENT:
        assert credential not in log
        signature = credential.rpartition(".")[2]
        if len(signature) >= 16:
            assert signature not in log


def test_auth_failures_are_counted_by_reason_only(access):
    failures = auth_failures(access)
    assert {"missing", "malformed", "unknown_api_key", "algorithm", "unknown_key", "bad_signature",
            "expired", "not_yet_valid", "wrong_issuer", "wrong_audience"} <= set(failures)
    status, _, body = access.request("GET", "/metrics")
    assert "team-a" not in body.decode() and "alice" not in body.decode()


# MARK: 3. Revocation by SIGHUP


def test_a_key_removed_from_the_file_is_refused_after_sighup(mock, tmp_path):
    keep, revoke = new_key(), new_key()
    keys_file = tmp_path / "keys.json"
    write_keys(keys_file, {"keep": (keep, None), "revoke": (revoke, None)})
    service = Service(mock, {"AUTH_MODE": "api_key", "API_KEYS_FILE": str(keys_file)})
    try:
        assert_streams(service, api_key(keep))
        assert_streams(service, api_key(revoke))

        write_keys(keys_file, {"keep": (keep, None)})
        service.process.send_signal(signal.SIGHUP)
        wait_for_log(service, "API keys reloaded")
        assert_refused_unseen(service, mock, api_key(revoke))
        assert_streams(service, api_key(keep))

        keys_file.write_text('{"keys": [')
        service.process.send_signal(signal.SIGHUP)
        wait_for_log(service, "API keys not reloaded")
        assert service.alive()
        assert_streams(service, api_key(keep))
        assert_refused_unseen(service, mock, api_key(revoke))
        log = service.log()
        assert keep not in log and revoke not in log
    finally:
        service.stop()


# MARK: 4. Agents per key


def test_a_key_narrowed_to_agents_is_403_for_another(access, mock):
    key = KEYS["team-narrow"][0]
    assert_streams(access, api_key(key))
    assert_refused_unseen(access, mock, api_key(key), status=403, code="agent_not_allowed",
                          payload={"input_text": "Hello", "agent_id": "SLOW"})
    # The same agent is fine for a key without a list.
    status, _, body = access.stream({"input_text": "Hello", "agent_id": "CITED"}, headers=api_key(KEYS["team-a"][0]))
    assert status == 200, body


# MARK: 5. Sessions and identity


def test_sessions_are_per_principal_and_identity_is_forwarded(access, mock):
    marker = uuid.uuid4().hex
    session_id, memory_id = f"shared-{marker}", f"memory-{marker}"
    forged = {"marker": marker, "principal_id": "forged", "principal_kind": "api_key", "claim_email": "forged@example.com", "claim_other": "x"}
    payload = hello(session_id, memory_id=memory_id, session_attributes=forged,
                    prompt_session_attributes={"topic": "t", "principal_id": "forged", "claim_email": "forged"})
    alice = token(mock, sub="alice", email="alice@example.com", **{"cognito:groups": ["admins", "users"]})
    jwt_team_a = token(mock, sub="team-a")
    SENT.extend([alice, jwt_team_a])
    callers = [("key team-a", api_key(KEYS["team-a"][0])), ("key team-b", api_key(KEYS["team-b"][0])),
               ("key team-a again", api_key(KEYS["team-a"][0])), ("jwt alice", bearer(alice)),
               ("jwt sub team-a", bearer(jwt_team_a))]
    for name, headers in callers:
        status, _, body = access.stream(payload, headers=headers)
        assert status == 200, (name, body)
        lines = ndjson(body)
        assert lines[0]["session_id"] == session_id and lines[-1]["session_id"] == session_id, name

    calls = invocations_marked(mock, marker)
    assert len(calls) == len(callers), calls
    a, b, a_again, jwt_alice, jwt_a = calls
    for call in calls:
        assert HEX64.match(call["sessionId"]) and call["sessionId"] != session_id, call
        assert HEX64.match(call["memoryId"]) and call["memoryId"] != memory_id, call
        assert call["memoryId"] != call["sessionId"]
        assert call["promptSessionAttributes"] == {"topic": "t"}, call
    assert a["sessionId"] == a_again["sessionId"] and a["memoryId"] == a_again["memoryId"]
    assert len({a["sessionId"], b["sessionId"], jwt_alice["sessionId"], jwt_a["sessionId"]}) == 4
    assert len({a["memoryId"], b["memoryId"], jwt_alice["memoryId"], jwt_a["memoryId"]}) == 4

    # The key team-a and the token for sub team-a share principal_id; principal_kind tells them apart.
    assert a["sessionAttributes"] == {"marker": marker, "principal_id": "team-a", "principal_kind": "api_key"}
    assert b["sessionAttributes"] == {"marker": marker, "principal_id": "team-b", "principal_kind": "api_key"}
    assert jwt_a["sessionAttributes"] == {"marker": marker, "principal_id": "team-a", "principal_kind": "jwt"}
    assert jwt_alice["sessionAttributes"] == {
        "marker": marker, "principal_id": "alice", "principal_kind": "jwt",
        "claim_email": "alice@example.com", "claim_cognito:groups": '["admins","users"]',
    }


def test_without_auth_sessions_are_sent_as_given(service, mock):
    marker = uuid.uuid4().hex
    attributes = {"marker": marker, "principal_id": "client-said"}
    payload = hello(f"plain-{marker}", memory_id=f"memory-{marker}", session_attributes=attributes)
    status, _, body = service.stream(payload)
    assert status == 200, body
    [call] = invocations_marked(mock, marker)
    assert call["sessionId"] == payload["session_id"]
    assert call["memoryId"] == payload["memory_id"]
    assert call["sessionAttributes"] == attributes


# MARK: 7. Per-principal limits


def test_requests_per_minute_are_limited_per_principal(mock, tmp_path):
    keys_file = tmp_path / "keys.json"
    write_keys(keys_file, {"a": (KEYS["team-a"][0], None), "b": (KEYS["team-b"][0], None)})
    service = Service(mock, {"AUTH_MODE": "api_key", "API_KEYS_FILE": str(keys_file), "PRINCIPAL_REQUESTS_PER_MINUTE": "3"})
    try:
        for _ in range(3):
            assert_streams(service, api_key(KEYS["team-a"][0]))
        headers, _ = assert_refused_unseen(service, mock, api_key(KEYS["team-a"][0]), status=429, code="rate_limited")
        assert 1 <= int(headers["retry-after"]) <= 60, headers
        assert_streams(service, api_key(KEYS["team-b"][0]))
    finally:
        service.stop()


def test_concurrent_streams_are_limited_per_principal(mock, tmp_path):
    keys_file = tmp_path / "keys.json"
    write_keys(keys_file, {"a": (KEYS["team-a"][0], None), "b": (KEYS["team-b"][0], None)})
    service = Service(mock, {"AUTH_MODE": "api_key", "API_KEYS_FILE": str(keys_file), "PRINCIPAL_MAX_STREAMS": "1"})
    try:
        marker = uuid.uuid4().hex
        slow = hello(f"slow-{marker}", agent_id="SLOW", session_attributes={"marker": marker})
        sock, received = open_stream(service, slow, api_key(KEYS["team-a"][0]))
        with sock:
            # The start line can come before the call reaches MockBedrock: wait for the call, so
            # that the counter checked below counts only the refused request.
            deadline = time.monotonic() + 5
            while not invocations_marked(mock, marker):
                assert time.monotonic() < deadline, "the slow stream's InvokeAgent call never arrived"
                time.sleep(0.02)
            headers, _ = assert_refused_unseen(service, mock, api_key(KEYS["team-a"][0]), status=429, code="rate_limited")
            assert int(headers["retry-after"]) >= 1
            assert_streams(service, api_key(KEYS["team-b"][0]))
            received += read_until_closed(sock)
        assert b'"type":"completion"' in received, received[-500:]
        # The slot is given back when the stream ends.
        deadline = time.monotonic() + 5
        while True:
            status, _, body = service.stream(hello(), headers=api_key(KEYS["team-a"][0]))
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert status == 200, body
    finally:
        service.stop()


# MARK: 8. Start-up configuration errors


@pytest.mark.parametrize("env, named", [
    ({"AUTH_MODE": "jwt", "JWT_AUDIENCE": AUDIENCE}, "JWT_ISSUER"),
    ({"AUTH_MODE": "api_key"}, "API_KEYS_FILE"),
    ({"AUTH_MODE": "bogus"}, "AUTH_MODE"),
], ids=["jwt-without-issuer", "api-key-without-file", "bogus-mode"])
def test_bad_auth_configuration_stops_start_up(mock, env, named):
    variables = {
        "PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "HOST": "127.0.0.1", "PORT": str(free_port()),
        "AWS_ENDPOINT_URL": mock, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_EC2_METADATA_DISABLED": "true", **env,
    }
    result = subprocess.run([str(BIN / "bedrock-agent-streaming")], env=variables, cwd="/",
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert named in result.stdout + result.stderr


# MARK: 9. new-api-key


def test_new_api_key_prints_a_key_and_its_entry(mock, tmp_path):
    def make():
        result = subprocess.run([str(BIN / "bedrock-agent-streaming"), "new-api-key", "--id", "team-z"],
                                capture_output=True, text=True, timeout=30, cwd="/")
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        key = lines[next(i for i, line in enumerate(lines) if line.startswith("API key")) + 1].strip()
        entry = json.loads(lines[next(i for i, line in enumerate(lines) if line.startswith("Entry")) + 1])
        return key, entry

    key, entry = make()
    assert entry == {"id": "team-z", "sha256": hashlib.sha256(key.encode()).hexdigest()}
    assert make()[0] != key
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps({"keys": [entry]}))
    service = Service(mock, {"AUTH_MODE": "api_key", "API_KEYS_FILE": str(keys_file)})
    try:
        assert_streams(service, api_key(key))
        assert_refused_unseen(service, mock, api_key(key[:-1]))
        assert key not in service.log()
    finally:
        service.stop()


# MARK: 10. Open endpoints


def test_cors_preflight_needs_no_credentials(access):
    status, headers, _ = access.request("OPTIONS", "/api/agent/stream", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,x-api-key,content-type"})
    assert status == 204
    assert headers["access-control-allow-origin"] == ORIGIN
    allowed = {name.strip().lower() for name in headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "x-api-key", "content-type"} <= allowed
    assert "POST" in headers["access-control-allow-methods"]


def test_a_refusal_carries_cors_headers_for_the_browser(access, mock):
    headers, _ = assert_refused_unseen(access, mock, {"Origin": ORIGIN}, code="authentication_required")
    assert headers.get("access-control-allow-origin") == ORIGIN


@pytest.mark.parametrize("path", ["/health", "/", "/metrics"])
def test_status_endpoints_need_no_credentials(access, path):
    status, _, body = access.request("GET", path)
    assert status == 200, body


# MARK: 1 and 6. JWKS refetches (last: rotation changes MockBedrock's current key)


def test_unknown_kids_refetch_the_jwks_at_most_once(mock, refetching):
    service, fetched_at = refetching["unknown_kid"]
    wait_refetch_allowed(fetched_at)
    before = stats(mock)["jwksRequests"]
    for _ in range(2):
        assert_refused_unseen(service, mock, bearer(forged_rs256(mock, "forged-kid")))
    assert stats(mock)["jwksRequests"] - before == 1
    assert service.alive()


def test_a_rotated_key_is_accepted_without_restart(mock, refetching):
    service, fetched_at = refetching["rotation"]
    old = token(mock, sub="before-rotation")
    assert_streams(service, bearer(old))
    wait_refetch_allowed(fetched_at)
    new_kid = mock_call(mock, "/oidc/rotate", {})["kid"]
    new = token(mock, sub="after-rotation")
    assert jwt.get_unverified_header(new)["kid"] == new_kid != jwt.get_unverified_header(old)["kid"]
    before = stats(mock)["jwksRequests"]
    assert_streams(service, bearer(new))
    assert stats(mock)["jwksRequests"] == before + 1
    # The previous key stays in the JWKS: tokens it signed still verify.
    assert_streams(service, bearer(old))
    assert_streams(service, bearer(token(mock, sub="after-rotation-2")))
    assert stats(mock)["jwksRequests"] == before + 1
