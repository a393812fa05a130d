"""A real browser opens the report: every image loads, the console stays clean; a screenshot is kept.

Needs Debian's chromium and chromium-driver (installed by .ci/run). In CI the test must run; elsewhere
it skips, saying why, when they are missing.
"""

import os
import shutil
from pathlib import Path

import pytest
from helpers import RECIPES, REPO

from actviz.model import LAYER_NAMES

pytestmark = [pytest.mark.system, pytest.mark.e2e]

SCREENSHOT = REPO / "artifacts" / "report.png"


def _browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        message = "Debian's chromium and chromium-driver are not installed (apt-get install chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def test_report_opens_in_chromium_with_every_image_loaded_and_no_console_error(project):
    report = project / "results" / "report.html"
    in_file = report.read_text().count("<img ")
    browser = _browser()
    try:
        browser.get(Path(report).as_uri())
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0]);")
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        SCREENSHOT.parent.mkdir(exist_ok=True)
        browser.save_screenshot(str(SCREENSHOT))
        print(f"screenshot: {SCREENSHOT}")
    finally:
        browser.quit()
    # learning curves and the phase diagram; per setup per-class, depth, gradients, signal, reliability and CKA maps
    # (one seed: no accuracy-against-churn picture), and two per layer
    assert len(images) == in_file == 2 + len(RECIPES) * (6 + 2 * len(LAYER_NAMES))
    assert [alt for alt, loaded in images if not loaded] == []
    assert errors == []
