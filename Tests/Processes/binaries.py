"""The service binary and MockBedrock, started as processes, for the tests that drive the binaries
(Tests/Hardening, Tests/EndToEnd).

Raw sockets are used where HTTP clients are too polite: they send what a client chooses, stop
reading, dribble bytes, and see exactly what the service writes and when it closes.
"""
import json
import os
import resource
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SERVICE_BIN_DIR", ROOT / ".build/debug")).resolve()
KEY_ID, SECRET = "AKIDHARDENING", "hardening/secret/key"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, process, name, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}")
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{name} did not listen within {timeout} s")


class Mock:
    """MockBedrock as a process on a free port, serving the repository's fixtures."""

    def __init__(self):
        port = free_port()
        self.process = subprocess.Popen(
            [str(BIN / "MockBedrock"), "--port", str(port), "--fixtures", str(ROOT / "Fixtures"),
             "--access-key-id", KEY_ID, "--secret-access-key", SECRET],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_listening(port, self.process, "MockBedrock")
        self.url = f"http://127.0.0.1:{port}"

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=15)


@pytest.fixture(scope="session")
def mock():
    """MockBedrock for the whole session: its URL."""
    running = Mock()
    yield running.url
    running.stop()


class Service:
    """One service process; `stop()` sends SIGTERM and returns the exit code and the log."""

    def __init__(self, mock, env=None, open_files=None):
        self.port = free_port()
        variables = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent",
            "HOST": "127.0.0.1", "PORT": str(self.port), "AWS_ENDPOINT_URL": mock, "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_EC2_METADATA_DISABLED": "true",
        }
        variables.update(env or {})
        limit = None
        if open_files:
            def limit():
                resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"hardening-service-{self.port}.log"
        self.log_file = open(self.log_path, "w+")
        self.process = subprocess.Popen(
            [str(BIN / "bedrock-agent-streaming")], env=variables, cwd="/",
            stdout=self.log_file, stderr=subprocess.STDOUT, preexec_fn=limit)
        try:
            wait_listening(self.port, self.process, "the service")
        except RuntimeError as error:
            raise RuntimeError(f"{error}: {self.log()}")

    def log(self):
        self.log_file.flush()
        return self.log_path.read_text()

    def alive(self):
        return self.process.poll() is None

    def stop(self, timeout=30):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            code = None
        return code

    def rss_kb(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def connect(self, timeout=10):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return sock

    def exchange(self, raw, timeout=15):
        """Sends `raw` bytes on a new connection, reads until the server closes; returns the bytes."""
        with self.connect(timeout) as sock:
            sock.sendall(raw)
            return read_until_closed(sock)

    def request(self, method, path, body=b"", headers=None, timeout=15):
        """One HTTP/1.1 request with `Connection: close`; returns (status, headers, body)."""
        lines = [f"{method} {path} HTTP/1.1", "Host: localhost", "Connection: close"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        return parse_response(self.exchange(raw, timeout))

    def stream(self, payload, timeout=30, headers=None):
        """POSTs `payload` (bytes, or an object sent as JSON) to the stream endpoint, with `headers` added."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
        return self.request("POST", "/api/agent/stream", body, headers, timeout)

    def get_json(self, path):
        status, headers, body = self.request("GET", path)
        return status, json.loads(body)


def read_until_closed(sock):
    chunks = []
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def parse_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = dechunk(body)
    status = int(status_line.split()[1]) if len(status_line.split()) > 1 else 0
    headers[":status-line"] = status_line
    return status, headers, body


def dechunk(body):
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out


def ndjson(body):
    return [json.loads(line) for line in body.decode().splitlines() if line.strip()]


def mock_call(mock, path, form=None):
    """GET `path` on MockBedrock, or POST `form` (form-encoded; lists repeat the field); the JSON answer."""
    data = None if form is None else urllib.parse.urlencode(form, doseq=True).encode()
    request = urllib.request.Request(mock + path, data=data, method="GET" if form is None else "POST")
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def stats(mock):
    return mock_call(mock, "/_mock/stats")
