"""Hostile clients against the service binary (issue: hostile clients can freeze, crash or hold it).

Each test is one hole, reproduced as an attacker would with raw sockets on loopback, and the
behaviour that closes it. Run by `make hardening` (part of `make test`) on the debug binaries.
"""
import json
import os
import select
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from binaries import Service, ndjson, parse_response, read_until_closed, stats

HELLO = {"input_text": "Hello", "agent_id": "HELLO"}


def nested_body(depth, copies=1):
    junk = ",".join(["[" * depth + "]" * depth] * copies)
    return ('{"input_text": "Hello", "agent_id": "HELLO", "unknown": [' + junk + "]}").encode()


# MARK: Freeze: nested JSON


def test_deep_nesting_is_refused_with_a_message(service):
    status, _, body = service.stream(nested_body(510))
    error = json.loads(body)
    assert status == 400
    assert error["error_code"] == "invalid_json"
    assert "nested deeper than 32 levels" in error["message"]
    assert "unknown[0]" in error["message"]


def test_nesting_within_the_limit_is_accepted(service):
    # 30 levels inside the outer object and the "unknown" array: 32 in all.
    status, _, body = service.stream(nested_body(30))
    assert status == 200
    assert ndjson(body)[-1]["type"] == "completion"


def test_deeply_nested_bodies_do_not_hold_the_event_loop(service):
    # Before: two 40 KB bodies of forty 510-deep arrays cost 74 s of CPU each, and /health waited.
    body = nested_body(510, copies=40)
    results = []

    def post():
        results.append(service.stream(body, timeout=60)[0])

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    status, health = service.get_json("/health")
    for thread in threads:
        thread.join(60)
    assert status == 200 and health["status"] in ("healthy", "degraded")
    assert results == [400, 400]


@pytest.mark.parametrize("body, expected", [
    (b'{"input_text": "Hello", "agent_id": "HELLO",}', "trailing comma"),
    (b'{"input_text": "Hello", "agent_id": "HELLO", "agent_id": "OTHER"}', "'agent_id' appears twice"),
    (b'{"input_text": "Hello", "agent_id": "HELLO", "agent\\u005fid": "OTHER"}', "'agent_id' appears twice"),
    ('{"input_text": "Hello", "agent_id": "HELLO"}'.encode("utf-16"), "UTF-16"),
    ('{"input_text": "Hello", "agent_id": "HELLO"}'.encode("utf-16-le"), "not UTF-8"),
    (b'{"input_text": "Hello", "agent_id": "HELLO", "n": ' + b"9" * 10_000 + b"}", "too large for a 64-bit float"),
    (b'{"input_text": "Hello", "agent_id": "HELLO", "s": "\\ud800"}', "lone surrogate"),
    (b'{"input_text": "caf\xc3", "agent_id": "HELLO"}', "not valid UTF-8"),
    (b'{"input_text": "Hello", "agent_id": "HELLO"} x', "after the JSON value"),
], ids=["trailing-comma", "duplicate-key", "duplicate-escaped-key", "utf-16-bom", "utf-16-le", "huge-number",
        "lone-surrogate", "bad-utf8", "trailing-bytes"])
def test_lenient_json_is_refused(service, body, expected):
    status, _, answer = service.stream(body)
    error = json.loads(answer)
    assert status == 400, answer
    assert error["error_code"] == "invalid_json"
    assert expected in error["message"]


def test_a_huge_number_names_its_field(service):
    body = b'{"input_text": "Hello", "agent_id": "HELLO", "session_attributes": {"x": "1"}, "n": [1, ' + b"9" * 10_000 + b"]}"
    status, _, answer = service.stream(body)
    message = json.loads(answer)["message"]
    assert status == 400
    assert "too large" in message and "n[1]" in message
    assert len(message) < 300


# MARK: Wrong answers


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "TRACE", "GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_on_the_stream_endpoint_are_405(service, method):
    status, headers, body = service.request(method, "/api/agent/stream")
    assert status == 405
    assert headers["allow"] == "POST"


@pytest.mark.parametrize("path", ["/health", "/", "/metrics"])
def test_status_endpoints_answer_head_and_refuse_other_methods(service, path):
    status, headers, body = service.request("POST", path, b"{}", {"Content-Type": "application/json"})
    assert status == 405
    assert headers["allow"] == "GET, HEAD"
    status, headers, body = service.request("HEAD", path)
    assert status == 200
    assert body == b""


def test_http_1_0_gets_an_http_1_0_answer_delimited_by_close(service):
    body = json.dumps(HELLO).encode()
    raw = (b"POST /api/agent/stream HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/json\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    with service.connect(timeout=15) as sock:
        sock.sendall(raw)
        answer = read_until_closed(sock)  # a timeout here is the hang the fix removes
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200")
    assert b"transfer-encoding" not in head.lower()
    assert b"connection: close" in head.lower()
    lines = ndjson(payload)
    assert lines[0]["type"] == "start" and lines[-1]["type"] == "completion"


def test_http_1_0_status_endpoint(service):
    answer = service.exchange(b"GET /health HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.0 200")
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["service"] == "bedrock-agent-streaming"


@pytest.mark.parametrize("framing", [
    b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    b"Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
])
def test_malformed_chunked_bodies_are_400(service, framing):
    raw = b"POST /api/agent/stream HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" + framing
    status, headers, body = parse_response(service.exchange(raw))
    assert status == 400, body


def test_a_declared_length_over_the_limit_is_413_before_the_body(service):
    raw = (b"POST /api/agent/stream HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
           b"Content-Length: 50000000\r\n\r\n")
    with service.connect(timeout=10) as sock:
        sock.sendall(raw)  # and not one byte of the body
        status, headers, body = parse_response(read_until_closed(sock))
    assert status == 413
    assert json.loads(body)["error_code"] == "request_too_large"
    assert headers["connection"] == "close"


# MARK: Hold: slow clients


def test_a_dribbled_body_is_cut_with_408(service):
    started = time.monotonic()
    with service.connect(timeout=20) as sock:
        sock.sendall(b"POST /api/agent/stream HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{")
        status, headers, body = parse_response(read_until_closed(sock))
    assert status == 408
    assert json.loads(body)["error_code"] == "request_timeout"
    assert time.monotonic() - started < 15


def test_dribbled_headers_are_cut(service):
    with service.connect(timeout=20) as sock:
        closed = False
        for byte in b"POST /api/agent/stream HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 100:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            sock.settimeout(0.5)
            try:
                data = sock.recv(4096)
                if data.startswith(b"HTTP/1.1 408") or not data:
                    closed = True
                    break
            except socket.timeout:
                pass
        assert closed, "the connection was still open after 50 s of dribbled headers"


def test_an_idle_keep_alive_connection_is_not_a_slow_request(service):
    with service.connect(timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first:
            first += sock.recv(65536)
        head, _, rest = first.partition(b"\r\n\r\n")
        length = int(parse_response(head + b"\r\n\r\n")[1]["content-length"])
        while len(rest) < length:
            rest += sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200") and len(rest) == length
        time.sleep(3)  # longer than REQUEST_READ_TIMEOUT_SECONDS=2, but no request begun
        body = json.dumps(HELLO).encode()
        sock.sendall(b"POST /api/agent/stream HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                     b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        status, _, answer = parse_response(read_until_closed(sock))
    assert status == 200
    assert ndjson(answer)[-1]["type"] == "completion"


def test_a_connection_that_never_sends_a_byte_is_closed(service):
    # Otherwise a silent client could hold MAX_CONNECTIONS slots for KEEP_ALIVE_TIMEOUT_SECONDS.
    started = time.monotonic()
    with service.connect(timeout=20) as sock:
        answer = read_until_closed(sock)  # a timeout here means it was kept open
    assert answer == b"", "closed without an answer: it asked nothing"
    assert time.monotonic() - started < 15


def stalled_stream(service, chunks=3000, chunk_bytes=200):
    """Opens a stream with a large answer and never reads it."""
    body = json.dumps({"input_text": "Hello", "agent_id": "LOADTEST",
                       "session_attributes": {"chunks": str(chunks), "chunkBytes": str(chunk_bytes)}}).encode()
    sock = service.connect(timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(b"POST /api/agent/stream HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    return sock


def dechunked(raw):
    """A chunked body's bytes, read with offsets (tens of megabytes in hundreds of chunks)."""
    pieces, at = [], 0
    while True:
        end = raw.index(b"\r\n", at)
        size = int(raw[at:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(pieces)
        pieces.append(raw[end + 2:end + 2 + size])
        at = end + 2 + size + 2


def test_a_client_that_pauses_reading_pauses_the_upstream_read(mock):
    """Flow control from the client to Bedrock: while a client reads nothing, the service stops
    reading the answer (the mock cannot finish writing it, and the service holds little of it);
    when the client reads on, every byte arrives."""
    service = Service(mock, {"IDLE_TIMEOUT_SECONDS": "60", "STREAM_TIMEOUT_SECONDS": "120"})
    # 87 MB of frames: more than the kernel's socket buffers between the mock and the client hold
    # (the service's receive buffer alone may grow to tcp_rmem's 32 MB).
    chunks, chunk_bytes = 1000, 65536
    try:
        before_rss = service.rss_kb()
        completed = stats(mock)["streamsCompleted"]
        body = json.dumps({"id": "flow", "agent_id": "LOADTEST",
                           "session_attributes": {"chunks": str(chunks), "chunkBytes": str(chunk_bytes)},
                           "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "go"}]}]}).encode()
        sock = service.connect(timeout=60)
        sock.sendall(b"POST /api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                     b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        time.sleep(3)
        held_mb = (service.rss_kb() - before_rss) / 1024
        # MockBedrock may have written it all (what its sockets do not hold waits in its memory),
        # but the service has not read it: it waits in the service's receive queue.
        unread = min(upstream_receive_queue(mock) for _ in range(3) if time.sleep(0.1) is None)
        assert unread > 64 * 1024, f"{unread} bytes unread upstream: the service read on while its client read nothing"
        assert held_mb < 16, f"the service holds {held_mb:.1f} MB of an answer its client does not read"
        received = bytearray()
        while data := sock.recv(1 << 20):
            received += data
        sock.close()
    finally:
        service.stop()
    head, _, raw = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    text = bytearray()
    for line in dechunked(raw).split(b"\n"):
        if line.startswith(b"data: {"):
            part = json.loads(line[6:])
            if part["type"] == "text-delta":
                text += part["delta"].encode()
    expected = b"".join(bytes([ord("a") + i % 26]) * chunk_bytes for i in range(chunks))
    assert text == expected, f"{len(text)} bytes of text, {len(expected)} sent"
    assert stats(mock)["streamsCompleted"] == completed + 1


def upstream_receive_queue(mock):
    """The bytes received and not yet read on connections to MockBedrock (/proc/net/tcp)."""
    port = int(mock.rsplit(":", 1)[1].strip("/"))
    queued = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].split(":")[1], 16)
        if remote_port == port:
            queued += int(fields[4].split(":")[1], 16)
    return queued


def test_clients_that_stop_reading_lose_their_slot(mock):
    service = Service(mock, {"MAX_CONCURRENT_STREAMS": "2", "IDLE_TIMEOUT_SECONDS": "2"})
    try:
        before = service.rss_kb()
        stalled = [stalled_stream(service) for _ in range(2)]
        time.sleep(1)
        status, _, _ = service.stream(HELLO)
        assert status == 503  # both slots held by clients that read nothing
        growth = (service.rss_kb() - before) / 1024
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, _, answer = service.stream(HELLO)
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200 and ndjson(answer)[-1]["type"] == "completion"
        # What a stalled client makes the service hold is bounded (before: about 12 MB each).
        assert growth < 16, f"RSS grew {growth:.1f} MB for two stalled streams"
        _, metrics = service.request("GET", "/metrics")[0], service.request("GET", "/metrics")[2].decode()
        assert "http_write_stalls_total 2" in metrics
        for sock in stalled:
            sock.close()
    finally:
        service.stop()


def test_stream_timeout_applies_while_a_write_waits(mock):
    service = Service(mock, {"STREAM_TIMEOUT_SECONDS": "2", "IDLE_TIMEOUT_SECONDS": "60", "MAX_CONCURRENT_STREAMS": "1"})
    try:
        stalled = stalled_stream(service)
        time.sleep(0.5)
        assert service.stream(HELLO)[0] == 503
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and service.stream(HELLO)[0] != 200:
            time.sleep(0.5)
        assert service.stream(HELLO)[0] == 200
        stalled.close()
    finally:
        service.stop()


# MARK: Shutdown


def test_sigterm_with_a_stalled_client_exits_0_within_the_grace(mock):
    service = Service(mock, {"SHUTDOWN_GRACE_SECONDS": "2"})
    stalled = stalled_stream(service)
    time.sleep(1)
    started = time.monotonic()
    code = service.stop(timeout=30)
    elapsed = time.monotonic() - started
    stalled.close()
    assert code == 0, service.log()[-3000:]
    assert elapsed < 2 + 5, f"exited {elapsed:.1f} s after SIGTERM"


@pytest.mark.parametrize("after_body", [b"\r\n", b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"],
                         ids=["stray CRLF", "pipelined request"])
def test_sigterm_lets_a_stream_finish_whatever_follows_its_body(mock, after_body):
    """Bytes after a request's body (the CRLF some clients add, or a pipelined request) are no
    unfinished request to refuse at shutdown: the stream in flight finishes within the grace."""
    service = Service(mock, {"SHUTDOWN_GRACE_SECONDS": "20"})
    body = json.dumps({"input_text": "Hello", "agent_id": "LOADTEST",
                       "session_attributes": {"chunks": "20", "delayMs": "100"}}).encode()
    sock = service.connect(timeout=30)
    sock.sendall(b"POST /api/agent/stream HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    time.sleep(0.3)
    sock.sendall(after_body)  # on its own, once the request was read
    time.sleep(0.3)
    code = service.stop(timeout=40)
    answer = read_until_closed(sock)
    sock.close()
    assert code == 0, service.log()[-3000:]
    status, _, streamed = parse_response(answer)
    lines = ndjson(streamed)
    assert status == 200
    assert [line["type"] for line in lines].count("chunk") == 20, lines[-1]
    assert lines[-1]["type"] == "completion", lines[-1]


def test_sigterm_with_an_unfinished_request_body_exits_at_once(mock):
    service = Service(mock, {"SHUTDOWN_GRACE_SECONDS": "5", "KEEP_ALIVE_TIMEOUT_SECONDS": "620"})
    sock = service.connect()
    sock.sendall(b"POST /api/agent/stream HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100\r\n\r\n{")
    time.sleep(0.5)
    started = time.monotonic()
    code = service.stop(timeout=30)
    elapsed = time.monotonic() - started
    answer = read_until_closed(sock)
    sock.close()
    assert code == 0
    assert elapsed < 5 + 5
    assert answer.startswith(b"HTTP/1.1 503")


# MARK: Crash: running out of file descriptors


@pytest.mark.parametrize("run", range(3))
def test_more_connections_than_file_descriptors_never_kill_the_process(mock, run):
    # Before: with ulimit -n 256 and 400 idle connections the process died by SIGILL in 1 to 8 s
    # in about half of the runs (libdispatch could not open /proc/<tid>/stat).
    service = Service(mock, open_files=256)
    sockets = []
    try:
        for _ in range(400):
            try:
                sockets.append(socket.create_connection(("127.0.0.1", service.port), timeout=5))
            except OSError:
                pass
        time.sleep(6)  # the crash came 1 to 8 s after the connections
        assert service.alive(), service.log()[-3000:]
        refused = 0
        readable, _, _ = select.select(sockets, [], [], 0)
        for sock in readable:
            try:
                if sock.recv(4096).startswith(b"HTTP/1.1 503"):
                    refused += 1
            except ConnectionResetError:
                pass
        for sock in sockets:
            sock.close()
        sockets = []
        # (256 - 64) / 2 = 96 connections are served; the others were told why and closed.
        assert refused >= 400 - 96 - 5
        status, _, metrics = service.request("GET", "/metrics")
        assert status == 200
        counted = [line for line in metrics.decode().splitlines() if line.startswith("http_connections_refused_total ")]
        assert counted and int(float(counted[0].split()[1])) >= refused
        status, _, answer = service.stream(HELLO)
        assert status == 200 and ndjson(answer)[-1]["type"] == "completion"
        assert "Refusing connections" in service.log()
        assert service.log().count("Refusing connections") <= 2  # rate limited
    finally:
        for sock in sockets:
            sock.close()
        assert service.stop() == 0


def test_max_connections_above_the_descriptor_limit_is_a_configuration_error(mock):
    with pytest.raises(RuntimeError) as failure:
        Service(mock, {"MAX_CONNECTIONS": "5000"}, open_files=1024)
    assert "MAX_CONNECTIONS" in str(failure.value) and "ulimit -n" in str(failure.value)


# MARK: Health and logs


def test_health_is_degraded_while_bedrock_calls_fail(mock):
    with socket.socket() as refusing:
        refusing.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = refusing.getsockname()[1]
        service = Service(mock, {"AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME": f"http://127.0.0.1:{port}",
                                 "UPSTREAM_MAX_ATTEMPTS": "1"})
        try:
            status, health = service.get_json("/health")
            assert health["status"] == "healthy" and health["details"]["upstream"]["status"] == "ok"
            status, _, answer = service.stream(HELLO)
            assert ndjson(answer)[-1]["error_code"] == "upstream_unreachable"
            status, health = service.get_json("/health")
            assert status == 200
            assert health["status"] == "degraded"
            upstream = health["details"]["upstream"]
            assert upstream["status"] == "failing"
            assert upstream["last_error_code"] == "upstream_unreachable"
            assert upstream["consecutive_failures"] == 1
            assert upstream["last_error_at"].endswith("Z")
        finally:
            service.stop()


def test_prompts_are_not_logged_without_debug_mode(mock):
    # Before: return-control results nested 500 deep passed validation, failed to encode for
    # Bedrock, were answered 200 then internal_error, and the whole request, prompt included, was
    # logged as one line of about 925,000 characters.
    service = Service(mock)
    try:
        secret = "PROMPT-" + "s" * 20_000
        service.stream({"input_text": secret, "agent_id": "EXTHROTTLE"})
        nested = "[" * 500 + "]" * 500
        body = ('{"input_text": "%s", "agent_id": "RETCTRL", "session_id": "weather-1", "invocation_id": "x", '
                '"return_control_invocation_results": [{"functionResult": {"responseBody": %s}}]}' % (secret, nested))
        status, _, answer = service.stream(body.encode())
        assert status == 400 and json.loads(answer)["error_code"] == "invalid_json"
        time.sleep(0.3)
        log = service.log()
        assert "PROMPT-" not in log
        assert max(len(line) for line in log.splitlines()) < 20_000
    finally:
        service.stop()
