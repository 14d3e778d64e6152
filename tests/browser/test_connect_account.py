"""A user connects their account at a plugin's OAuth provider from the marketplace's page, in
headless Chromium, against a real oidc-provider; then disconnects. Under the real CSP."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from plugins.credentials import resolve_credential
from plugins.credentials.models import OAuthConnection
from tests.browser.test_live_validation import log_in, wait


@pytest.mark.django_db(transaction=True)
def test_a_user_connects_and_disconnects_their_account_in_a_browser(
    browser, live_server, settings, make_world, alice, acme
):
    settings.SITE_URL = live_server.url  # the redirect URI the provider knows
    world = make_world()
    page = f"{live_server.url}/o/acme/installations/{world.installation.pk}/credentials/"
    log_in(browser, live_server.url, "alice@example.com", "correct horse battery")

    browser.get(page)
    assert "Not connected" in browser.page_source
    browser.find_element(By.LINK_TEXT, "Connect").click()

    # Off to the provider (it logs the test user in and consents without a form) and back.
    wait(browser).until(ec.url_to_be(page))
    wait(browser).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "main"), "Reconnect"))
    assert "Connected to Todo" in browser.page_source
    connection = OAuthConnection.objects.get(installation=world.installation, user=alice)
    assert connection.state == "connected"
    assert resolve_credential(installation=world.installation, user=alice).headers

    # The provider stops accepting the grant: "My credentials" says so, and one press on
    # Reconnect goes to the provider and back to that page, under the same CSP.
    OAuthConnection.objects.filter(user=alice).update(state="needs_reconnect")
    mine = f"{live_server.url}/o/acme/credentials/"
    browser.get(mine)
    assert "needs reconnecting" in browser.find_element(By.CSS_SELECTOR, "main").text
    browser.find_element(By.XPATH, "//button[normalize-space()='Reconnect']").click()
    wait(browser).until(ec.url_to_be(mine))
    wait(browser).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".messages"), "Connected to Todo")
    )
    assert OAuthConnection.objects.get(user=alice).state == "connected"

    browser.get(page)
    browser.find_element(By.XPATH, "//button[text()='Disconnect']").click()
    alert = wait(browser).until(ec.alert_is_present())  # a destructive action asks first
    assert "Disconnect your account from Todo?" in alert.text
    alert.accept()
    wait(browser).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, "main"), "Not connected")
    )
    assert not OAuthConnection.objects.exists()
    assert world.server.stats()["revocation_requests"] == 2
    console = [e for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
    assert console == []
