"""Steps the browser tests share: log in, wait, take a screenshot of the page."""

from __future__ import annotations

from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 30
# Git-ignored; a few are copied to docs/ for the README.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def wait(driver, seconds: float = WAIT) -> WebDriverWait:
    return WebDriverWait(driver, seconds, poll_frequency=0.1)


def log_in(driver, base_url: str, email: str, password: str) -> None:
    driver.get(base_url + "/accounts/login/")
    driver.find_element(By.NAME, "login").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    # textContent, not text: on a phone the header's menu (and .who in it) is folded away.
    wait(driver).until(
        ec.text_to_be_present_in_element_attribute((By.CSS_SELECTOR, ".who"), "textContent", email)
    )


def log_out(driver) -> None:
    driver.delete_all_cookies()


def screenshot(driver, name: str) -> Path:
    """Save the whole page (not just the viewport) as screenshots/<name>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    width = driver.execute_script("return document.documentElement.clientWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    size = driver.get_window_size()
    driver.set_window_size(size["width"], min(max(height + 140, 600), 4000))
    try:
        driver.save_screenshot(str(path))
    finally:
        driver.set_window_size(size["width"], size["height"])
    assert width > 0
    return path


def csp_violations(driver) -> list[str]:
    """Content-Security-Policy reports from the browser console since the last call."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry.get("message", "")
    ]


UNLABELLED_CONTROLS = """
return Array.from(document.querySelectorAll('input, select, textarea, button'))
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => {
    if (el.tagName === 'BUTTON') {
      return !(el.textContent.trim() || el.getAttribute('aria-label'));
    }
    if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) { return false; }
    if (el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]')) { return false; }
    return !el.closest('label');
  })
  .map(el => el.outerHTML.slice(0, 120));
"""
IMAGES_WITHOUT_ALT = """
return Array.from(document.querySelectorAll('img:not([alt])'))
  .map(el => el.outerHTML.slice(0, 120));
"""


def accessibility_problems(driver) -> list[str]:
    """Form controls a screen reader can't name, and images without alt text, on this page."""
    return driver.execute_script(UNLABELLED_CONTROLS) + driver.execute_script(IMAGES_WITHOUT_ALT)
