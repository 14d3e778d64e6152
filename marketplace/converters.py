"""URL path converters. `<id:…>` is the one for database ids: at most 18 digits, so every id in
a URL fits a 64-bit integer column and a longer one is simply a 404 (Django's `int` converter
takes any number of digits, and the database refuses them with an error)."""

from __future__ import annotations

MAX_ID_DIGITS = 18


class IdConverter:
    regex = f"[0-9]{{1,{MAX_ID_DIGITS}}}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
