"""A newcomer's journey in a real browser, against the live server, PostgreSQL, Redis and a real
Celery worker: sign up (verifying the address from the email) → create an organization →
register a plugin served by a fixture server → watch validation finish → submit it → an
operator approves it on the review screen → a visitor finds it in the catalogue.

(Installing, connecting and calling it from "try it" come with the installations and proxy.)
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from accounts.models import Organization, User
from accounts.services import create_user
from plugins.models import Plugin, ReviewState
from tests.browser.helpers import csp_violations, log_in, log_out, screenshot, wait
from tests.support.plugins import serve_todo_plugin

PASSWORD = "a long and unusual passphrase"


def click_button(driver, text: str) -> None:
    driver.find_element(By.XPATH, f"//main//button[normalize-space()='{text}']").click()


@pytest.mark.timeout(180)
@pytest.mark.django_db(transaction=True)
def test_a_newcomer_publishes_a_plugin_that_an_operator_approves(
    live_server, browser, start_celery_worker, plugin_server
):
    serve_todo_plugin(plugin_server)
    operator = create_user(email="olivia@ops.example", password=PASSWORD, verified=True)
    User.objects.filter(pk=operator.pk).update(is_staff=True, is_superuser=True)
    start_celery_worker()

    # Sign up, and confirm the address with the link from the email.
    browser.get(live_server.url + "/accounts/signup/")
    browser.find_element(By.NAME, "email").send_keys("dana@example.com")
    browser.find_element(By.NAME, "password1").send_keys(PASSWORD)
    browser.find_element(By.NAME, "password2").send_keys(PASSWORD)
    click_button(browser, "Sign up")
    wait(browser).until(lambda d: mail.outbox)
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", mail.outbox[-1].body).group(0)
    browser.get(link.replace("http://testserver", live_server.url))
    click_button(browser, "Confirm")
    log_in(browser, live_server.url, "dana@example.com", PASSWORD)

    # A team organization.
    browser.get(live_server.url + "/organizations/new/")
    browser.find_element(By.NAME, "name").send_keys("Dana Labs")
    click_button(browser, "Create organization")
    wait(browser).until(ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Dana Labs"))
    slug = Organization.objects.get(name="Dana Labs").slug

    # Register the plugin by URL and watch its validation finish.
    browser.find_element(By.LINK_TEXT, "Publish").click()
    browser.find_element(By.LINK_TEXT, "Register a plugin").click()
    browser.find_element(By.NAME, "url").send_keys(plugin_server.url("/"))
    Select(browser.find_element(By.NAME, "visibility")).select_by_value("public")
    click_button(browser, "Register and validate")
    wait(browser).until(ec.url_contains(f"/o/{slug}/validation-runs/"))
    wait(browser, 60).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, "#run-progress .badge"), "Passed")
    )
    screenshot(browser, "validation-run")
    plugin = Plugin.objects.get(organization__slug=slug)

    # Submit it for review.
    browser.get(f"{live_server.url}/o/{slug}/plugins/{plugin.pk}/")
    click_button(browser, "Submit for review")
    wait(browser).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".messages"), "review"))
    assert csp_violations(browser) == []
    log_out(browser)

    # The operator approves it on the review screen.
    log_in(browser, live_server.url, operator.email, PASSWORD)
    browser.get(f"{live_server.url}/admin/plugins/pluginawaitingreview/")
    browser.find_element(By.LINK_TEXT, "Review").click()
    browser.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
    wait(browser).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".messagelist"), "Approved")
    )
    plugin.refresh_from_db()
    assert plugin.review_state == ReviewState.APPROVED
    log_out(browser)

    # A visitor finds it in the catalogue and reads its page.
    browser.get(live_server.url + "/plugins/")
    browser.find_element(By.LINK_TEXT, "TODO List").click()
    wait(browser).until(ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "TODO List"))
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "Log in to install" in page
    assert "No account needed" in page
    assert "by Dana Labs" in page
    assert csp_violations(browser) == []
