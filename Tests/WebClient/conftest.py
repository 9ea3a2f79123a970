"""Fixtures for the browser tests: MockBedrock and the service as processes (Tests/Processes), and
a headless Chromium driven through chromium-driver by Selenium."""
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Processes"))

from binaries import ROOT, Service, mock  # noqa: E402, F401 (the mock fixture)

SCREENSHOTS = ROOT / ".build" / "screenshots"


@pytest.fixture(scope="module")
def service(mock):
    """A service in debug mode (trace panels), with short heartbeats."""
    running = Service(mock, {"DEBUG_MODE": "true", "HEARTBEAT_SECONDS": "1"})
    yield running
    running.stop()


@pytest.fixture(scope="session")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--lang=en-US", "--force-color-profile=srgb"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=DriverService(os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")),
                              options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
