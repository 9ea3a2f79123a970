#!/usr/bin/env python3
"""Time from starting a server to its first 200 on a URL, and from SIGTERM to its exit.

How fast a new Fargate task turns healthy decides how fast the service scales out. Usage:

    deploy/measure-startup.py [--runs N] URL -- COMMAND [ARGS...]

    # MockBedrock
    MOCK_BEDROCK_FIXTURES=Fixtures deploy/measure-startup.py http://127.0.0.1:4566/_mock/stats \\
        -- .build/release/MockBedrock
    # the service, against a MockBedrock already running on 4566 (its /health asks STS)
    AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_ACCESS_KEY_ID=AKIDMOCKBEDROCK \\
      AWS_SECRET_ACCESS_KEY=mock-bedrock-secret AWS_REGION=us-east-1 \\
      deploy/measure-startup.py http://127.0.0.1:8000/health -- .build/release/bedrock-agent-streaming

The command inherits this environment; each run polls the URL every millisecond, from loopback
only, and gives up after 10 seconds.
"""

import argparse
import signal
import tempfile
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request


def one_run(url, command):
    output = tempfile.TemporaryFile()
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        while True:
            if process.poll() is not None:
                output.seek(0)
                sys.stderr.write(output.read().decode(errors="replace")[-4000:])
                raise SystemExit(f"{command[0]} exited with {process.returncode} before answering")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        healthy = time.monotonic() - started
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() - started > 10:
                raise SystemExit(f"no 200 from {url} within 10 s")
            time.sleep(0.001)
        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        return healthy, time.monotonic() - stopping, code
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("url", help="polled until it answers 200, e.g. http://127.0.0.1:8000/health")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the server's command line")
    arguments = parser.parse_args()
    command = arguments.command[1:] if arguments.command[:1] == ["--"] else arguments.command
    if not command:
        parser.error("give the server's command after --")
    if not arguments.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        parser.error("the URL must be on this machine's loopback")

    runs = [one_run(arguments.url, command) for _ in range(arguments.runs)]
    healthy = [run[0] * 1000 for run in runs]
    stopped = [run[1] * 1000 for run in runs]
    print(f"{command[0]}: {arguments.runs} runs")
    print(f"  start -> first 200 on {arguments.url}: median {statistics.median(healthy):.1f} ms, "
          f"min {min(healthy):.1f}, max {max(healthy):.1f}")
    print(f"  SIGTERM -> exit (idle): median {statistics.median(stopped):.1f} ms, exit codes {sorted({r[2] for r in runs})}")


if __name__ == "__main__":
    sys.exit(main())
