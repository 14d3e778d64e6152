"""Small helpers shared by the accounts tests."""

from __future__ import annotations

import re


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def link_in(mail, pattern: str) -> str:
    """The path of the first absolute link in a mail body that matches `pattern`."""
    match = re.search(r"https?://testserver(" + pattern + r")", mail.body)
    assert match, f"no link matching {pattern} in:\n{mail.body}"
    return match.group(1)
