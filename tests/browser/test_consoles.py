"""The consoles in a real browser: an operator approves from the review screen, a visitor
reads the plugin page, a phone-sized header opens its menu, destructive actions ask first,
the audit log filters. Headless Chromium against the live server; screenshots of each main
page go to screenshots/ (git-ignored)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from accounts.models import Membership, User
from accounts.services import create_user, invite_member
from plugins.ingest.run import execute_run
from plugins.models import Plugin, ReviewState
from tests.browser.helpers import (
    accessibility_problems,
    csp_violations,
    log_in,
    log_out,
    screenshot,
    wait,
)
from tests.support.trips_plugin import publish_trips

PASSWORD = "correct horse battery"


@pytest.fixture
def operator(db):
    user = create_user(email="olivia@ops.example", password=PASSWORD, verified=True)
    User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    return user


def upload_trips(org, user):
    import json

    from plugins.registration import register_plugin_by_upload
    from tests.support.trips_plugin import MANIFEST, openapi

    submission = register_plugin_by_upload(
        organization=org,
        manifest=json.dumps(MANIFEST).encode(),
        openapi=json.dumps(openapi()).encode(),
        origin="trips.example.com",
        visibility="public",
        submitted_by=user,
    )
    execute_run(submission.run.pk)
    submission.version.refresh_from_db()
    return submission.version.plugin


@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_an_operator_approves_a_submission_and_a_visitor_finds_it(
    live_server, browser, acme, alice, operator
):
    plugin = upload_trips(acme, alice)

    # The publisher submits the version from the plugin page.
    log_in(browser, live_server.url, alice.email, PASSWORD)
    browser.get(f"{live_server.url}/o/acme/plugins/{plugin.pk}/")
    browser.find_element(By.XPATH, "//button[normalize-space()='Submit for review']").click()
    wait(browser).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".messages"), "submitted")
    )
    assert browser.find_element(
        By.XPATH, "//button[normalize-space()='Awaiting review']"
    ).get_attribute("disabled")
    screenshot(browser, "publisher-plugin")
    log_out(browser)

    # The operator opens the queue, then the review screen, and approves.
    log_in(browser, live_server.url, operator.email, PASSWORD)
    browser.get(f"{live_server.url}/admin/plugins/pluginawaitingreview/")
    browser.find_element(By.LINK_TEXT, "Review").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "review-screen")))
    codes = {
        li.get_attribute("data-code")
        for li in browser.find_elements(By.CSS_SELECTOR, ".review-warning")
    }
    assert "write_operations" in codes
    assert "searchHotels" in browser.find_element(By.ID, "review-screen").text
    screenshot(browser, "operator-review")
    browser.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
    wait(browser).until(
        ec.text_to_be_present_in_element(
            (By.CSS_SELECTOR, ".messagelist"), "Approved and published"
        )
    )
    plugin.refresh_from_db()
    assert plugin.review_state == ReviewState.APPROVED
    assert csp_violations(browser) == []
    log_out(browser)

    # A visitor reads the plugin page and is asked to log in to install it.
    browser.get(f"{live_server.url}/plugins/")
    browser.find_element(By.LINK_TEXT, "Trip Planner").click()
    wait(browser).until(ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Trip Planner"))
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "“Find me a hotel in Lisbon for Friday”" in page
    assert "Your own API key" in page
    assert "guest.name" in page
    screenshot(browser, "storefront-plugin")
    browser.find_element(By.LINK_TEXT, "Log in to install").click()
    browser.find_element(By.NAME, "login").send_keys(alice.email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait(browser).until(ec.url_contains(f"/plugins/{plugin.public_id}/"))
    assert csp_violations(browser) == []


@pytest.mark.timeout(90)
@pytest.mark.django_db(transaction=True)
def test_the_header_folds_into_a_menu_on_a_phone(live_server, browser, acme, alice):
    publish_trips(acme, alice)
    browser.set_window_size(390, 844)
    log_in(browser, live_server.url, alice.email, PASSWORD)
    for path in ("/", "/plugins/", "/o/acme/members/", "/o/acme/activity/"):
        browser.get(live_server.url + path)
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 390px"
    browser.get(live_server.url + "/plugins/")
    nav = browser.find_element(By.CSS_SELECTOR, ".mainnav")
    toggle = browser.find_element(By.CSS_SELECTOR, "[data-menu-toggle]")
    assert not nav.is_displayed()
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert nav.is_displayed()
    assert toggle.get_attribute("aria-expanded") == "true"
    # The org switcher shows the organization the user works in, even on the storefront.
    switcher = browser.find_element(By.ID, "org-switcher")
    assert switcher.find_element(By.CSS_SELECTOR, "option:checked").text == "Acme"
    screenshot(browser, "phone-menu")
    browser.find_element(By.TAG_NAME, "body").send_keys("\ue00c")  # Escape closes it
    assert not nav.is_displayed()
    assert csp_violations(browser) == []


@pytest.mark.timeout(90)
@pytest.mark.django_db(transaction=True)
def test_removing_a_member_asks_first(live_server, browser, acme, alice, bob):
    invite_member(organization=acme, email="dave@example.com", role="member", invited_by=alice)
    log_in(browser, live_server.url, alice.email, PASSWORD)
    browser.get(live_server.url + "/o/acme/members/")
    screenshot(browser, "members")
    remove = "//tr[td[contains(., 'bob@example.com')]]//button[normalize-space()='Remove']"

    browser.find_element(By.XPATH, remove).click()
    alert = wait(browser).until(ec.alert_is_present())
    assert "Remove bob@example.com from Acme?" in alert.text
    alert.dismiss()
    assert Membership.objects.filter(organization=acme, user=bob).exists()

    browser.find_element(By.XPATH, remove).click()
    wait(browser).until(ec.alert_is_present()).accept()
    wait(browser).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".messages"), "Removed"))
    assert not Membership.objects.filter(organization=acme, user=bob).exists()


@pytest.mark.timeout(90)
@pytest.mark.django_db(transaction=True)
def test_a_publisher_archives_a_plugin_after_confirming_and_unarchives_it(
    live_server, browser, acme, alice
):
    plugin = upload_trips(acme, alice)  # passed, never submitted
    log_in(browser, live_server.url, alice.email, PASSWORD)
    browser.get(f"{live_server.url}/o/acme/plugins/{plugin.pk}/")
    archive = "//button[normalize-space()='Archive']"
    browser.find_element(By.XPATH, archive).click()
    alert = wait(browser).until(ec.alert_is_present())
    assert "Archive Trip Planner?" in alert.text
    alert.dismiss()
    plugin.refresh_from_db()
    assert plugin.archived_at is None

    browser.find_element(By.XPATH, archive).click()
    wait(browser).until(ec.alert_is_present()).accept()
    wait(browser).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".messages"), "Archived Trip Planner")
    )
    assert not browser.find_elements(By.XPATH, "//button[normalize-space()='Submit for review']")
    browser.get(f"{live_server.url}/o/acme/plugins/")
    assert not browser.find_elements(By.LINK_TEXT, "Trip Planner")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Archived plugins (1)").click()
    browser.find_element(By.LINK_TEXT, "Trip Planner").click()
    browser.find_element(By.XPATH, "//button[normalize-space()='Unarchive']").click()
    wait(browser).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".messages"), "is back in your plugins")
    )
    assert browser.find_element(By.XPATH, "//button[normalize-space()='Submit for review']")
    plugin.refresh_from_db()
    assert plugin.archived_at is None
    assert csp_violations(browser) == []


@pytest.mark.timeout(90)
@pytest.mark.django_db(transaction=True)
def test_the_audit_log_filters_by_person(live_server, browser, acme, alice, bob):
    invite_member(organization=acme, email="dave@example.com", role="member", invited_by=alice)
    publish_trips(acme, alice)
    log_in(browser, live_server.url, alice.email, PASSWORD)
    browser.get(live_server.url + "/o/acme/activity/")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.audit-log tbody tr")
    assert len(rows) >= 4
    assert "alice@example.com invited dave@example.com as Member." in browser.page_source
    screenshot(browser, "audit-log")
    browser.find_element(By.ID, "id_plugin").send_keys("Trip Planner")
    browser.find_element(By.XPATH, "//button[normalize-space()='Filter']").click()
    wait(browser).until(ec.url_contains("plugin=Trip+Planner"))
    texts = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table.audit-log tbody tr")]
    assert texts
    assert all("Trip Planner" in text for text in texts)
    export = browser.find_element(By.PARTIAL_LINK_TEXT, "Export CSV")
    assert "plugin=Trip+Planner" in export.get_attribute("href")
    assert Plugin.objects.filter(name="Trip Planner").exists()
    assert csp_violations(browser) == []


@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_every_main_page_names_its_controls(live_server, browser, acme, alice, operator):
    plugin = publish_trips(acme, alice)
    pages = [
        "/",
        "/plugins/",
        f"/plugins/{plugin.public_id}/",
        "/accounts/login/",
        "/accounts/signup/",
    ]
    for path in pages:
        browser.get(live_server.url + path)
        assert accessibility_problems(browser) == [], path
    log_in(browser, live_server.url, alice.email, PASSWORD)
    for path in (
        "/o/acme/",
        "/o/acme/members/",
        "/o/acme/tokens/",
        "/o/acme/api-keys/",
        "/o/acme/activity/",
        "/o/acme/plugins/",
        "/o/acme/plugins/new/",
        f"/o/acme/plugins/{plugin.pk}/",
        "/accounts/email/",
        "/accounts/password/change/",
        "/o/acme/credentials/",
        "/o/acme/webhooks/",
        f"/o/acme/plugins/{plugin.pk}/credentials/",
    ):
        browser.get(live_server.url + path)
        assert accessibility_problems(browser) == [], path
        assert csp_violations(browser) == [], path
    # Keyboard: the skip link is the first stop and moves focus to the content.
    browser.get(live_server.url + "/o/acme/members/")
    browser.find_element(By.TAG_NAME, "body").send_keys("\ue004")  # Tab
    focused = browser.switch_to.active_element
    assert focused.text == "Skip to content"
    focused.send_keys("\ue007")  # Enter
    assert browser.switch_to.active_element.get_attribute("id") == "main"
