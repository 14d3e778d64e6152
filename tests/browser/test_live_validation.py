"""A publisher watches validation progress live: the run page polls with htmx, no reload.

Everything is real: the login form, the upload form, the Celery worker consuming from Redis,
the htmx polling in headless Chromium. The worker is started only once the browser shows the
run as queued, so the page has to change in front of the user to pass.
"""

from __future__ import annotations

import re

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from plugins.models import RunStatus, ValidationRun
from tests.support.plugins import DEMO_DIR

WAIT = 60  # generous: the browser, the worker and the machine may all be busy
RUN_URL = re.compile(r"/o/acme/validation-runs/(\d+)/$")

# Marks the loaded page (a reload would lose the marker) and counts the swaps htmx makes.
WATCH_HTMX = """
window.__marker = 1;
window.__swaps = 0;
document.body.addEventListener('htmx:beforeSwap', () => { window.__swaps += 1; });
"""


def wait(driver, seconds: float = WAIT) -> WebDriverWait:
    return WebDriverWait(driver, seconds, poll_frequency=0.1)


def log_in(driver, base_url: str, email: str, password: str) -> None:
    driver.get(base_url + "/accounts/login/")
    driver.find_element(By.NAME, "login").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait(driver).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".who"), email))


def htmx_loaded(driver) -> bool:
    return driver.execute_script("return typeof window.htmx === 'object' && !!window.htmx.version")


def text_of(driver, selector: str) -> str:
    """The element's text, read again if a poll swaps it out while it is being read."""
    return WebDriverWait(
        driver, 15, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,)
    ).until(lambda d: d.find_element(By.CSS_SELECTOR, selector).text or " ")


def badge(driver) -> str:
    return text_of(driver, "#run-progress .badge")


def upload_plugin(driver, base_url: str, **files) -> int:
    driver.get(base_url + "/o/acme/plugins/new/")
    for field, path in files.items():
        driver.find_element(By.ID, f"id_{field}").send_keys(str(path))
    driver.find_element(By.ID, "id_origin").send_keys("todo.demo.example")
    driver.find_element(By.CSS_SELECTOR, "main form.card button[type=submit]").click()
    wait(driver).until(ec.url_matches(RUN_URL.pattern))
    return int(RUN_URL.search(driver.current_url).group(1))


@pytest.mark.timeout(240)
@pytest.mark.django_db(transaction=True)
def test_publisher_watches_an_upload_validate_live(
    live_server, browser, start_celery_worker, acme, alice
):
    log_in(browser, live_server.url, "alice@example.com", "correct horse battery")
    run_id = upload_plugin(
        browser,
        live_server.url,
        manifest=DEMO_DIR / "todo-manifest.json",
        openapi=DEMO_DIR / "todo-openapi.yaml",
    )

    # The run page as first rendered: queued (no worker runs yet), polling with htmx.
    wait(browser).until(htmx_loaded)
    browser.execute_script(WATCH_HTMX)
    assert badge(browser) == "Queued"
    assert "Open v" not in text_of(browser, "#run-progress")
    wait(browser).until(lambda d: d.execute_script("return window.__swaps") >= 1)
    assert badge(browser) == "Queued"  # a poll came back and the run is still waiting

    start_celery_worker()

    wait(browser).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, "#run-progress .badge"), "Passed")
    )
    open_version = wait(browser).until(
        ec.element_to_be_clickable((By.LINK_TEXT, "Open v1")), "no link to the validated version"
    )
    assert browser.execute_script("return window.__marker") == 1, "the page was reloaded"
    assert browser.execute_script("return window.__swaps") >= 2
    progress = browser.find_element(By.ID, "run-progress")
    assert progress.get_attribute("hx-get") is None  # finished: the poller is gone
    assert {li.get_attribute("class") for li in progress.find_elements(By.TAG_NAME, "li")} == {
        "done"
    }
    run = ValidationRun.objects.get(pk=run_id)
    assert run.status == RunStatus.PASSED
    codes = set(run.findings.values_list("code", flat=True))
    assert codes  # the demo has warnings (a blank logo_url, at least)
    for code in codes:  # the report came in with the same swap
        assert code in progress.text

    open_version.click()
    wait(browser).until(ec.url_contains("/versions/"))
    operations = {td.text for td in browser.find_elements(By.CSS_SELECTOR, "table td.mono")}
    assert {"getTodos", "addTodo"} <= operations


@pytest.mark.timeout(240)
@pytest.mark.django_db(transaction=True)
def test_a_failing_run_shows_its_errors_live(
    live_server, browser, start_celery_worker, acme, alice, tmp_path
):
    broken = tmp_path / "openapi.json"
    broken.write_text('{"openapi": "3.0.1", "info": {"title": "TODO"}}')
    log_in(browser, live_server.url, "alice@example.com", "correct horse battery")
    run_id = upload_plugin(
        browser, live_server.url, manifest=DEMO_DIR / "todo-manifest.json", openapi=broken
    )
    wait(browser).until(htmx_loaded)
    browser.execute_script(WATCH_HTMX)
    assert badge(browser) == "Queued"
    start_celery_worker()

    wait(browser).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, "#run-progress .badge"), "Failed")
    )
    assert browser.execute_script("return window.__marker") == 1, "the page was reloaded"
    assert browser.execute_script("return window.__swaps") >= 1
    run = ValidationRun.objects.get(pk=run_id)
    assert run.status == RunStatus.FAILED
    errors = set(run.findings.filter(severity="error").values_list("code", flat=True))
    assert errors
    progress = browser.find_element(By.ID, "run-progress")
    assert "Errors (" in progress.text
    for code in errors:
        assert code in progress.text
