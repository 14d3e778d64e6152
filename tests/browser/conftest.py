"""Headless Chromium driven by Selenium, against pytest-django's live_server.

The browser and its driver are Debian's (`chromium`, `chromium-driver`; `make test` installs
them). Selenium Manager is never consulted, so nothing is downloaded: a missing browser fails
the test rather than skipping it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.selenium_manager import SeleniumManager

from marketplace.celery import app as celery_app

CHROMIUM = Path(os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1000",
)

_failed = pytest.StashKey[bool]()


@pytest.fixture
def browser(tmp_path, monkeypatch):
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.is_file():
            pytest.fail(f"{path} is missing: `make test` installs it (apt-get install {package})")
    monkeypatch.setenv("SE_OFFLINE", "true")

    def no_selenium_manager(*args, **kwargs):
        raise AssertionError("Selenium Manager was called: it must never look up or download")

    monkeypatch.setattr(SeleniumManager, "binary_paths", no_selenium_manager)

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(
        service=Service(executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "driver.log")),
        options=options,
    )
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """On a failure, save a screenshot and the page's HTML under the test's tmp_path."""
    report = yield
    driver = getattr(item, "funcargs", {}).get("browser")
    if report.failed and driver is not None and not item.stash.get(_failed, False):
        item.stash[_failed] = True
        out = Path(item.funcargs["tmp_path"])
        with contextlib.suppress(Exception):
            driver.save_screenshot(str(out / "failure.png"))
            (out / "failure.html").write_text(driver.page_source)
            report.sections.append(
                ("browser", f"at {driver.current_url}\nscreenshot and HTML saved in {out}")
            )
    return report


@pytest.fixture
def start_celery_worker():
    """start_celery_worker() -> a real Celery worker on Redis, started when the test says so.

    The queue is purged now, before the test queues anything, so that the worker (started
    later) consumes only this test's messages."""
    assert celery_app.conf.broker_url.startswith("redis://")
    celery_app.control.purge()
    with contextlib.ExitStack() as stack:

        def start():
            return stack.enter_context(
                start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30)
            )

        yield start
