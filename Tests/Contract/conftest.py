"""Fixtures for the contract tests: MockBedrock and the service as processes (Tests/Processes)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Processes"))

from binaries import mock  # noqa: E402, F401 (the mock fixture)
