"""Template filters of the site's design system."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def sentence_case(text) -> str:
    """ "Remember Me" -> "Remember me", "New Password (again)" -> "New password (again)".

    Our pages use sentence case; some library forms title-case their labels. Words written in
    capitals (API, URL, OAuth) and the first word keep their case."""
    words = str(text).split(" ")
    out = []
    for i, word in enumerate(words):
        if i == 0 or (len(word) > 1 and word[1:] != word[1:].lower()):
            out.append(word)
        else:
            out.append(word.lower())
    return " ".join(out)
