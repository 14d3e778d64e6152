"""The second half of the journey, in a real browser: an admin of another organization installs
a published plugin, sets who may query which database, connects a key, calls an operation from
"try it" through the real proxy to a loopback plugin; the call log shows the call and the
usage chart counts it."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from plugins.credentials.models import UserCredential
from plugins.installations.models import CallEvent, Installation
from plugins.proxy.events import drain_call_events
from tests.browser.helpers import accessibility_problems, csp_violations, log_in, screenshot, wait
from tests.proxy.conftest import publish_version, upstream  # noqa: F401 - fixture
from tests.tools.specs import data_plugin_spec

PASSWORD = "correct horse battery"
KEY = "canary-user-key-5b1f0c2e9d"


def click(driver, text: str) -> None:
    driver.find_element(By.XPATH, f"//main//button[normalize-space()='{text}']").click()


@pytest.mark.timeout(150)
@pytest.mark.django_db(transaction=True)
def test_an_admin_installs_connects_and_tries_a_plugin(
    live_server,
    browser,
    upstream,  # noqa: F811 - the fixture imported above
    acme,
    alice,
    globex,
):
    version = publish_version(
        globex,
        data_plugin_spec(upstream.url),
        base=upstream.url,
        auth={"type": "user_http", "authorization_type": "bearer"},
    )
    plugin = version.plugin
    log_in(browser, live_server.url, alice.email, PASSWORD)

    # Install from the plugin's page.
    browser.get(f"{live_server.url}/plugins/{plugin.public_id}/")
    click(browser, "Install in Acme")
    wait(browser).until(ec.url_contains("/o/acme/installations/"))
    installation = Installation.objects.get(organization=acme, plugin=plugin)

    # Allow every member the `sales` database and the `events` container by default.
    browser.find_element(By.LINK_TEXT, "Allow-lists").click()
    browser.find_element(By.ID, "default-database").send_keys("sales")
    browser.find_element(By.ID, "default-container").send_keys("events")
    screenshot(browser, "allow-lists")
    click(browser, "Save allow-lists")
    wait(browser).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".messages"), "saved"))

    # Connect a key.
    browser.get(f"{live_server.url}/o/acme/installations/{installation.pk}/")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Connect your key").click()
    browser.find_element(By.NAME, "token").send_keys(KEY)
    click(browser, "Save my key")
    wait(browser).until(lambda d: UserCredential.objects.filter(user=alice).exists())
    assert KEY not in browser.page_source

    # Try it.
    browser.get(f"{live_server.url}/o/acme/installations/{installation.pk}/")
    browser.find_element(By.CSS_SELECTOR, 'a[href$="/try/querySqlDatabase/"]').click()
    Select(browser.find_element(By.NAME, "arg_database")).select_by_visible_text("sales")
    browser.find_element(By.NAME, "arg_question").send_keys("how many orders?")
    click(browser, "Call querySqlDatabase")
    result = wait(browser).until(ec.presence_of_element_located((By.ID, "try-result")))
    assert "What the model reads" in result.text
    assert "row_count" in result.text
    screenshot(browser, "try-it")
    (seen,) = [s for s in upstream.seen if s.path == "/query"]
    assert KEY in seen.headers.values()  # the key went to the plugin, and only there
    assert KEY not in browser.page_source

    # The call log shows the call; the usage chart counts it.
    drain_call_events()
    assert CallEvent.objects.filter(installation=installation, decision="allowed").count() == 1
    browser.get(f"{live_server.url}/o/acme/calls/")
    row = browser.find_element(By.CSS_SELECTOR, "table.call-log tbody tr")
    assert "querySqlDatabase" in row.text
    assert "Allowed" in row.text
    assert "alice@example.com" in row.text
    screenshot(browser, "call-log")
    browser.get(f"{live_server.url}/o/acme/installations/{installation.pk}/")
    assert "1 call in the last 7 days." in browser.page_source
    bars = browser.find_elements(By.CSS_SELECTOR, "svg.chart rect")
    assert len(bars) == 1  # today's calls (no errors, so the error-rate chart has no bar)
    assert bars[0].find_element(By.TAG_NAME, "title").get_attribute("textContent").endswith(": 1")
    screenshot(browser, "installation")
    assert accessibility_problems(browser) == []
    assert csp_violations(browser) == []
