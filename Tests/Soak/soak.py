"""The soak: a steady load on the service and MockBedrock with faults mixed in, then the figures
that say whether anything broke (`make soak`; `make test` runs a short smoke of it).

Every client checks its stream: exactly one `start` first, exactly one terminal line last
(`completion` or `error`), nothing after it, and for MockBedrock's LOADTEST answers every chunk's
exact text. The mix, each client drawing its next request by weight:

- answers that stream for about a second (LOADTEST, 20 chunks 50 ms apart);
- every fault fixture: exceptions as HTTP errors and mid-stream, bad CRC, truncated frames,
  dropped connections, stalls, silence, throttling then success;
- clients that leave mid-stream, and clients that stop reading a large answer;
- slowloris heads, unfinished bodies, nested and lenient JSON, duplicate keys, request
  smuggling shapes, oversized heads, and floods of more connections than `MAX_CONNECTIONS`
  (the service runs with 1024 descriptors: 480 connections);

and, during the run, MockBedrock killed (SIGKILL) and restarted on its port, and credentials
from MockBedrock's ECS container endpoint that expire every few seconds (issued for 310 s, and
the service refreshes them 5 minutes before they expire). At the end, streams in flight when
SIGTERM comes, which must all finish inside the shutdown grace.

    python3 Tests/Soak/soak.py --duration 180 --report RELIABILITY.md   # make soak
    python3 Tests/Soak/soak.py --smoke                                  # make test
"""
import argparse
import asyncio
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests/Processes"))

from binaries import BIN, free_port, wait_listening  # noqa: E402

FAULT_FIXTURES = sorted(
    path.stem for path in (ROOT / "Fixtures").glob("*.json")
    if path.stem.startswith(("EX", "HT", "F", "ERR")) and path.stem != "README")
PLAIN_FIXTURES = ["HELLO", "CITED", "FILES", "RETCTRL", "USAGE", "CAPMULTI", "CAPKB", "CAPGUARD"]
GRACE_SECONDS = 10
LIFETIME_SECONDS = 310
SERVICE_NOFILE = 1024
MAX_CONNECTIONS = (SERVICE_NOFILE - 64) // 2


class Mock:
    def __init__(self, port):
        self.port = port
        self.process = None
        self.stats_before_restarts = Counter()

    def start(self):
        env = {**os.environ, "MOCK_BEDROCK_CREDENTIAL_LIFETIME": str(LIFETIME_SECONDS), "MOCK_BEDROCK_CONTAINER_TOKEN": "soak-token"}
        self.process = subprocess.Popen(
            [str(BIN / "MockBedrock"), "--port", str(self.port), "--fixtures", str(ROOT / "Fixtures")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(self.port, self.process, "MockBedrock")

    def stats(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_mock/stats", timeout=5) as response:
            return json.loads(response.read())

    def kill(self):
        try:
            self.stats_before_restarts.update(self.stats())
        except OSError:
            pass
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


class ServiceProcess:
    def __init__(self, mock_port, log_path):
        self.port = free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent", "HOST": "127.0.0.1", "PORT": str(self.port),
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{mock_port}", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
            # The ECS task role's way: temporary credentials from the container endpoint.
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://127.0.0.1:{mock_port}/v2/credentials/soak",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "soak-token",
            "FIRST_EVENT_TIMEOUT_SECONDS": "3", "IDLE_TIMEOUT_SECONDS": "3", "REQUEST_READ_TIMEOUT_SECONDS": "3",
            "SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS), "MAX_REQUEST_BYTES": "65536", "LOG_LEVEL": "INFO",
        }
        self.log_file = open(log_path, "w+")

        def limit():
            # MAX_CONNECTIONS follows the descriptor limit: (1024 - 64) / 2 = 480 connections.
            resource.setrlimit(resource.RLIMIT_NOFILE, (SERVICE_NOFILE, SERVICE_NOFILE))

        self.process = subprocess.Popen([str(BIN / "bedrock-agent-streaming")], env=env, cwd="/", stdout=self.log_file,
                                        stderr=subprocess.STDOUT, preexec_fn=limit)
        wait_listening(self.port, self.process, "the service")

    def file_descriptors(self):
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def connections_to(self, port):
        """The service's TCP sockets connected to `port` (its pooled Bedrock connections)."""
        inodes = set()
        for fd in os.listdir(f"/proc/{self.process.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{self.process.pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        count = 0
        for table in ("tcp", "tcp6"):
            for line in Path(f"/proc/{self.process.pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes and int(fields[2].rsplit(":", 1)[1], 16) == port:
                    count += 1
        return count

    def rss_mb(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0

    def metric(self, name):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith(name + " ") or line.startswith(name + "{"):
                    return float(line.split()[-1])
        return None


# ---------------------------------------------------------------------------------------------
# One client's requests


class Tally:
    def __init__(self):
        self.outcomes = Counter()
        self.violations = []
        self.started = 0
        self.last_success = 0.0
        # While a flood holds the service at MAX_CONNECTIONS, a new connection is refused: the
        # service writes 503 and closes, which a client still sending sees as a reset.
        self.floods = 0

    def violation(self, scenario, problem, body=b""):
        self.violations.append(f"{scenario}: {problem}: {body[-300:]!r}")


class Reset(Exception):
    """The connection was reset; `received` is what had arrived."""

    def __init__(self, received):
        self.received = received


async def exchange(port, raw, read_timeout=30.0, read_limit=None):
    """Sends `raw`; returns the response bytes (until close, or `read_limit` bytes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    chunks, size = [], 0
    try:
        writer.write(raw)
        await writer.drain()
        while True:
            data = await asyncio.wait_for(reader.read(65536), read_timeout)
            if not data:
                break
            chunks.append(data)
            size += len(data)
            if read_limit and size >= read_limit:
                break
        return b"".join(chunks)
    except (ConnectionResetError, BrokenPipeError):
        raise Reset(b"".join(chunks))
    finally:
        writer.close()


def post(path, body, headers=None):
    lines = [f"POST {path} HTTP/1.1", "Host: soak", "Connection: close", "Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def split_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0
    if b"transfer-encoding: chunked" in head.lower():
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            try:
                size = int(size_line.split(b";")[0], 16)
            except ValueError:
                break
            if size == 0:
                break
            out += rest[:size]
            rest = rest[size + 2:]
        body = out
    return status, body


def check_stream(tally, scenario, body, load=None):
    """The stream contract; returns the terminal line (or None when violated)."""
    if not body.endswith(b"\n"):
        tally.violation(scenario, "the body does not end with a line", body)
        return None
    try:
        lines = [json.loads(line) for line in body.split(b"\n") if line]
    except ValueError:
        tally.violation(scenario, "a line is not JSON", body)
        return None
    types = [line.get("type") for line in lines]
    terminal = [i for i, t in enumerate(types) if t in ("completion", "error")]
    if not lines or types[0] != "start" or types.count("start") != 1:
        tally.violation(scenario, f"not one start first: {types[:3]}", body)
        return None
    if len(terminal) != 1 or terminal[0] != len(lines) - 1:
        tally.violation(scenario, f"not one terminal line last: {types[-3:]}", body)
        return None
    if any(line.get("done") != (i == len(lines) - 1) for i, line in enumerate(lines)):
        tally.violation(scenario, "done is not true on the last line only", body)
        return None
    last = lines[-1]
    if load and last["type"] == "completion":
        chunks, size = load
        texts = [line["content"] for line in lines if line["type"] == "chunk"]
        expected = [chr(ord("a") + i % 26) * size for i in range(chunks)]
        if texts != expected or last["final_content"] != "".join(expected):
            tally.violation(scenario, "the text is not intact", body)
            return None
    return last


async def answer(tally, port, scenario, payload, load=None):
    try:
        raw = await exchange(port, post("/api/agent/stream", json.dumps(payload).encode()))
    except Reset as reset:
        refused = reset.received == b"" or reset.received.startswith(b"HTTP/1.1 503")
        if refused and tally.floods:
            tally.outcomes["refused during a connection flood"] += 1
        else:
            tally.violation(scenario, "the connection was reset", reset.received)
        return None
    status, body = split_response(raw)
    if status != 200:
        tally.outcomes[f"HTTP {status}"] += 1
        # These requests are valid: only a 503 (too many streams or connections) may refuse one.
        if status != 503:
            tally.violation(scenario, f"HTTP {status}", raw)
        return None
    last = check_stream(tally, scenario, body, load)
    if last is not None:
        tally.outcomes[last.get("error_code", "completed")] += 1
    return last


async def scenario_stream(tally, port):
    last = await answer(tally, port, "stream", {"input_text": "soak", "agent_id": "LOADTEST",
                                                "session_attributes": {"chunks": "20", "chunkBytes": "16", "delayMs": "50"}},
                        load=(20, 16))
    if last and last["type"] == "completion":
        tally.last_success = time.monotonic()


async def scenario_fixture(tally, port):
    agent = random.choice(FAULT_FIXTURES + PLAIN_FIXTURES)
    await answer(tally, port, f"fixture {agent}", {"input_text": "soak", "agent_id": agent})


async def scenario_leave(tally, port):
    """A client that leaves after the first lines."""
    payload = {"input_text": "soak", "agent_id": "LOADTEST", "session_attributes": {"chunks": "100", "chunkBytes": "16", "delayMs": "50"}}
    await exchange(port, post("/api/agent/stream", json.dumps(payload).encode()), read_limit=600)
    tally.outcomes["client left"] += 1


async def scenario_stop_reading(tally, port):
    """A client that stops reading a large answer, then leaves."""
    payload = {"input_text": "soak", "agent_id": "LOADTEST", "session_attributes": {"chunks": "200", "chunkBytes": "20000", "delayMs": "0"}}
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    await loop.sock_sendall(sock, post("/api/agent/stream", json.dumps(payload).encode()))
    await asyncio.sleep(4)
    sock.close()
    tally.outcomes["client stopped reading"] += 1


BAD_BODIES = [
    b"[" * 5000,
    b'{"input_text": "a", "agent_id": "HELLO",}',
    b'{"input_text": "a", /* comment */ "agent_id": "HELLO"}',
    b'{"input_text": NaN, "agent_id": "HELLO"}',
    b'{"input_text": "a", "agent_id": "HELLO", "agent_id": "CITED"}',
    b'{"input_text": "\\ud800", "agent_id": "HELLO"}',
    b"\xef\xbb\xbf{}",
]


async def scenario_bad_input(tally, port):
    kind = random.randrange(6)
    if kind == 0:
        raw = post("/api/agent/stream", random.choice(BAD_BODIES))
    elif kind == 1:  # smuggling: both framings
        body = b'{"input_text": "a", "agent_id": "HELLO"}'
        raw = (b"POST /api/agent/stream HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nContent-Length: 4\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + hex(len(body))[2:].encode() + b"\r\n" + body + b"\r\n0\r\n\r\n")
    elif kind == 2:  # an oversized head
        raw = b"GET /health HTTP/1.1\r\nHost: soak\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    elif kind == 3:  # an unfinished body: the client leaves
        raw = b"POST /api/agent/stream HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(raw)
        await writer.drain()
        writer.close()
        tally.outcomes["unfinished body"] += 1
        return
    elif kind == 4:  # slowloris: a head a few bytes at a time, never finished in time
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        answer_bytes = None
        try:
            for byte in b"POST /api/agent/stream HTTP/1.1\r\nHost: soak\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa":
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.25)
                if reader.at_eof() or time.monotonic() - started > 8:
                    break
            # REQUEST_READ_TIMEOUT_SECONDS is 3: the service must have answered 408 and closed.
            answer_bytes = await asyncio.wait_for(reader.read(), 8)
        except (ConnectionError, Reset):
            answer_bytes = b""
        except asyncio.TimeoutError:
            answer_bytes = None
        finally:
            writer.close()
        if answer_bytes is None:
            tally.violation("slowloris", "the connection was still open 8 s after the read timeout")
        elif answer_bytes and b" 408 " not in answer_bytes.split(b"\r\n")[0] and not (tally.floods and b" 503 " in answer_bytes[:20]):
            tally.violation("slowloris", "not answered 408", answer_bytes)
        tally.outcomes["slowloris closed" if answer_bytes is not None else "slowloris still open"] += 1
        return
    else:  # a body that is not JSON at all, with the wrong content type
        raw = (b"POST /api/agent/stream HTTP/1.1\r\nHost: soak\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
               b"Connection: close\r\n\r\nhello")
    try:
        response = await exchange(port, raw, read_timeout=10)
    except (ConnectionError, Reset):
        tally.outcomes["bad input: closed"] += 1
        return
    except asyncio.TimeoutError:
        tally.violation("bad input", "no answer and no close within 10 s", raw[:200])
        return
    status = int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0
    if status == 503 and b"too_many_connections" in response and tally.floods:
        tally.outcomes["refused during a connection flood"] += 1
        return
    tally.outcomes[f"bad input: HTTP {status}"] += 1
    if not 400 <= status < 500:
        tally.violation("bad input", f"HTTP {status}", response[:300])


async def scenario_exhaust(tally, port):
    """More connections than MAX_CONNECTIONS at once, held a second: those over the cap get
    503 too_many_connections and are closed; then all are let go."""
    opened, refused = [], 0
    tally.floods += 1
    try:
        for _ in range(MAX_CONNECTIONS + 40):
            try:
                opened.append(await asyncio.open_connection("127.0.0.1", port))
            except OSError:
                break
        await asyncio.sleep(1)
        for reader, _ in opened:
            if reader.at_eof() or reader._buffer:  # noqa: SLF001 (what the service wrote unasked)
                refused += 1
    finally:
        for _, writer in opened:
            writer.close()
        await asyncio.sleep(0.2)
        tally.floods -= 1
    tally.outcomes["connection flood"] += 1
    tally.outcomes["flood connections refused"] += refused
    # Past MAX_CONNECTIONS every connection is refused at once: at least the 40 over the cap.
    if len(opened) > MAX_CONNECTIONS and refused < 40:
        tally.violation("connection flood", f"{refused} of {len(opened)} connections refused past MAX_CONNECTIONS {MAX_CONNECTIONS}")


SCENARIOS = [
    (scenario_stream, 40), (scenario_fixture, 30), (scenario_leave, 8), (scenario_stop_reading, 3), (scenario_bad_input, 12),
    (scenario_exhaust, 0.3),
]


async def client(tally, port, deadline):
    functions, weights = zip(*SCENARIOS)
    while time.monotonic() < deadline:
        function = random.choices(functions, weights)[0]
        tally.started += 1
        try:
            await function(tally, port)
        except (ConnectionError, asyncio.TimeoutError, OSError, Reset) as error:
            if function in (scenario_stream, scenario_fixture):
                tally.violation(function.__name__, f"{type(error).__name__}: {error}")
            else:
                tally.outcomes[f"{function.__name__}: {type(error).__name__}"] += 1


async def in_flight_at_shutdown(service, count):
    """`count` streams of about 4 s, SIGTERM a second in; how each ended."""
    payload = {"input_text": "soak", "agent_id": "LOADTEST", "session_attributes": {"chunks": "40", "chunkBytes": "16", "delayMs": "100"}}
    tasks = [asyncio.create_task(exchange(service.port, post("/api/agent/stream", json.dumps(payload).encode()), read_timeout=GRACE_SECONDS + 5))
             for _ in range(count)]
    await asyncio.sleep(1)
    service.process.send_signal(signal.SIGTERM)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    completed = 0
    for result in results:
        if isinstance(result, bytes):
            status, body = split_response(result)
            if status == 200 and body.rstrip().endswith(b"}") and b'"type":"completion"' in body.splitlines()[-1]:
                completed += 1
    return completed


async def run(args):
    random.seed(args.seed)
    mock = Mock(free_port())
    mock.start()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / "soak-service.log"
    service = ServiceProcess(mock.port, log_path)
    tally = Tally()
    fds_before, rss_before = service.file_descriptors(), service.rss_mb()
    started = time.monotonic()
    deadline = started + args.duration
    clients = [asyncio.create_task(client(tally, service.port, deadline)) for _ in range(args.clients)]

    # MockBedrock killed a third of the way in, and restarted two seconds later.
    await asyncio.sleep(args.duration / 3)
    mock.kill()
    killed_at = time.monotonic()
    await asyncio.sleep(2)
    mock.start()
    restarted_at = time.monotonic()
    tally.last_success = 0
    recovery = None
    while time.monotonic() < deadline:
        if tally.last_success > restarted_at:
            recovery = tally.last_success - restarted_at
            break
        await asyncio.sleep(0.05)
    await asyncio.gather(*clients)

    # Quiet: what is left open.
    await asyncio.sleep(4)
    alive = service.process.poll() is None
    active = service.metric("agent_streams_active") if alive else None
    stats = mock.stats()
    upstream_open = stats["streamsStarted"] - stats["streamsCompleted"] - stats["streamsInterrupted"]
    fds_after, rss_after = service.file_descriptors(), service.rss_mb()
    pooled = service.connections_to(mock.port)
    credentials = mock.stats_before_restarts["credentialsIssued"] + stats["credentialsIssued"]

    completed_at_shutdown = await in_flight_at_shutdown(service, args.shutdown_streams)
    exit_code = service.process.wait(timeout=GRACE_SECONDS + 20)
    mock.stop()
    log = log_path.read_text()
    crashes = 0 if alive and exit_code == 0 else 1

    figures = {
        "duration_s": args.duration, "clients": args.clients, "requests": tally.started,
        "outcomes": dict(sorted(tally.outcomes.items(), key=lambda item: -item[1])),
        "contract_violations": len(tally.violations), "crashes": crashes, "exit_code": exit_code,
        "active_streams_after": active, "upstream_calls_left_open": upstream_open,
        "fds_before": fds_before, "fds_after": fds_after, "pooled_upstream_connections": pooled, "rss_mb_before": round(rss_before, 1), "rss_mb_after": round(rss_after, 1),
        "mock_down_s": round(restarted_at - killed_at, 2), "recovery_s": None if recovery is None else round(recovery, 2),
        "credential_refreshes": credentials, "credential_failures": tally.outcomes.get("credentials_unavailable", 0),
        "shutdown_streams": args.shutdown_streams, "shutdown_cut": args.shutdown_streams - completed_at_shutdown,
        "log_warnings": sum(1 for line in log.splitlines() if " - WARNING - " in line),
    }
    return figures, tally.violations


def report(figures, violations):
    print(f"soak: {figures['duration_s']} s, {figures['clients']} clients, {figures['requests']} requests")
    for name, count in figures["outcomes"].items():
        print(f"  {name:34} {count}")
    for key in ["contract_violations", "crashes", "exit_code", "active_streams_after", "upstream_calls_left_open", "fds_before",
                "fds_after", "pooled_upstream_connections", "rss_mb_before", "rss_mb_after", "mock_down_s", "recovery_s", "credential_refreshes",
                "credential_failures", "shutdown_streams", "shutdown_cut"]:
        print(f"  {key:34} {figures[key]}")
    for violation in violations[:20]:
        print("  VIOLATION", violation)


def failures(figures):
    problems = []
    for key in ["contract_violations", "crashes", "exit_code", "upstream_calls_left_open", "credential_failures", "shutdown_cut"]:
        if figures[key]:
            problems.append(f"{key} = {figures[key]}")
    if figures["active_streams_after"] != 0:
        problems.append(f"active_streams_after = {figures['active_streams_after']}")
    if figures["recovery_s"] is None:
        problems.append("no stream succeeded after MockBedrock came back")
    # Kept-alive connections to Bedrock stay pooled after the load (no more than there were
    # streams at once); any other descriptor left behind is a leak.
    if figures["fds_after"] - figures["pooled_upstream_connections"] > figures["fds_before"] + 2:
        problems.append(f"file descriptors grew from {figures['fds_before']} to {figures['fds_after']} "
                        f"({figures['pooled_upstream_connections']} of them pooled Bedrock connections)")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=180)
    parser.add_argument("--clients", type=int, default=48)
    parser.add_argument("--shutdown-streams", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--smoke", action="store_true", help="a short run for make test: 20 s, 16 clients")
    parser.add_argument("--report", help="write the figures to this Markdown file")
    parser.add_argument("--json", help="write the figures as JSON")
    args = parser.parse_args()
    if args.smoke:
        args.duration, args.clients, args.shutdown_streams = 20, 16, 8
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, max(8192, resource.getrlimit(resource.RLIMIT_NOFILE)[1])))
    figures, violations = asyncio.run(run(args))
    report(figures, violations)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    if args.report:
        write_markdown(Path(args.report), figures)
    problems = failures(figures)
    if problems:
        print("soak: FAILED:", "; ".join(problems))
        sys.exit(1)
    print("soak: passed")


def write_markdown(path, figures):
    outcomes = "\n".join(f"| {name} | {count} |" for name, count in figures["outcomes"].items())
    path.write_text(f"""# Reliability under faults and load

`make soak` (`Tests/Soak/soak.py --duration {figures['duration_s']:.0f}`) on the debug binaries: the
service and MockBedrock on this project's 2-vCPU machine, {figures['clients']} clients at once,
each drawing its next request from the mix the script's docstring lists (answers of about a
second, every fault fixture, clients that leave or stop reading, slowloris heads, unfinished,
nested, lenient and smuggled requests), MockBedrock killed with SIGKILL a third of the way in and
restarted two seconds later, credentials from MockBedrock's ECS container endpoint that the
service refreshes every few seconds (issued for {LIFETIME_SECONDS} s, refreshed 5 minutes before
they expire), and at the end {figures['shutdown_streams']} streams of about 4 s in flight when
SIGTERM comes (`SHUTDOWN_GRACE_SECONDS={GRACE_SECONDS}`). Written by the run itself.

| figure | value | what it rests on |
| --- | --- | --- |
| requests | {figures['requests']} | every request the clients made |
| contract violations | {figures['contract_violations']} | each stream parsed by its client: one `start` first, one terminal line last, `done` only there, nothing after, LOADTEST's text byte for byte |
| crashes | {figures['crashes']} | the service process alive throughout, and exit code {figures['exit_code']} after SIGTERM |
| streams left active after the run | {figures['active_streams_after']:.0f} | `agent_streams_active` from `/metrics`, 4 s after the last client ended |
| upstream calls left open after their client left | {figures['upstream_calls_left_open']} | MockBedrock's `streamsStarted - streamsCompleted - streamsInterrupted` since its restart |
| file descriptors before and after | {figures['fds_before']} and {figures['fds_after']}, {figures['pooled_upstream_connections']} of them kept-alive Bedrock connections | `/proc/PID/fd` of the service, its sockets matched to `/proc/PID/net/tcp` |
| resident memory before and after | {figures['rss_mb_before']} MB and {figures['rss_mb_after']} MB | `VmRSS` of the service |
| MockBedrock down | {figures['mock_down_s']} s | from its SIGKILL to its restart listening |
| recovery after MockBedrock came back | {figures['recovery_s']} s | from its restart to the first LOADTEST answer completed in full |
| credential fetches during the run | {figures['credential_refreshes']} | MockBedrock's `credentialsIssued`, both of its lives |
| streams failed for credentials | {figures['credential_failures']} | terminal lines with `credentials_unavailable` |
| streams cut by the SIGTERM inside the grace | {figures['shutdown_cut']} of {figures['shutdown_streams']} | each must end with its `completion` line |

Outcomes (a stream's terminal `error_code`, `completed`, or what a hostile client saw):

| outcome | count |
| --- | --- |
{outcomes}

The error codes are the fixtures' own (each fault fixture ends its stream with the code the
README's error table gives it) and those of the minutes MockBedrock was down
(`upstream_unreachable` after the service's retries); `HTTP 4xx` are the bad inputs' refusals.
""")


if __name__ == "__main__":
    main()
