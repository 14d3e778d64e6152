"""Account pages speak in sentence case, like the rest of the site ("Remember me", not
"Remember Me"), whichever library drew the form."""

from __future__ import annotations

import re

import pytest

from marketplace.templatetags.site_tags import sentence_case

TEXT = re.compile(r"<(h1|h2|label|button|legend)\b[^>]*>(.*?)</\1>", re.S)
TAGS = re.compile(r"<[^>]+>")
PROPER = {"Plugin", "Marketplace", "Acme", "API", "REST", "OAuth"}


def title_cased_words(html: str) -> list[str]:
    found = []
    for _, inner in TEXT.findall(html):
        words = TAGS.sub(" ", inner).split()
        for word in words[1:]:
            proper = word.strip(":") in PROPER or "@" in word
            if word[:1].isupper() and word[1:].islower() and not proper:
                found.append(" ".join(words))
                break
    return found


@pytest.mark.parametrize(
    "path",
    ["/accounts/email/", "/accounts/password/change/", "/accounts/reauthenticate/"],
)
def test_signed_in_account_pages_use_sentence_case(web_as, alice, acme, path):
    html = web_as(alice).get(path).content.decode()
    assert title_cased_words(html) == []


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]
)
def test_public_account_pages_use_sentence_case(client, db, path):
    html = client.get(path).content.decode()
    assert title_cased_words(html) == []


def test_the_email_page_confirms_before_removing_an_address(web_as, alice):
    html = web_as(alice).get("/accounts/email/").content.decode()
    assert 'name="action_remove" data-confirm=' in html
    assert "<h1>Email addresses</h1>" in html


def test_sentence_case_keeps_acronyms_and_the_first_word():
    assert sentence_case("Remember Me") == "Remember me"
    assert sentence_case("New Password (again)") == "New password (again)"
    assert sentence_case("Your API key for OAuth") == "Your API key for OAuth"
