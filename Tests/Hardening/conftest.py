"""Fixtures for the hostile-client tests: MockBedrock and the service as processes (Tests/Processes)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Processes"))

from binaries import Service, mock  # noqa: E402, F401 (the mock fixture)


@pytest.fixture(scope="module")
def service(mock):
    running = Service(mock, {"REQUEST_READ_TIMEOUT_SECONDS": "2"})
    yield running
    running.stop()
