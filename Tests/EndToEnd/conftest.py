"""Fixtures for the end-to-end tests: MockBedrock and the service as processes (Tests/Processes)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Processes"))

from binaries import Service, mock  # noqa: E402, F401 (the mock fixture)


@pytest.fixture(scope="module")
def service(mock):
    """A service in debug mode, so that traces reach the frontends' formats too."""
    running = Service(mock, {"DEBUG_MODE": "true", "HEARTBEAT_SECONDS": "0.25", "FIRST_EVENT_TIMEOUT_SECONDS": "1.5"})
    yield running
    running.stop()
