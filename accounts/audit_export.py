"""The audit log as CSV, produced row by row for a streaming response."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator

from accounts.audit_text import describe
from accounts.models import AuditEvent

HEADER = ["time", "actor", "action", "target", "description", "details"]
# A cell starting with one of these is a formula in a spreadsheet ("CSV injection"): event text
# comes partly from users and plugin publishers, so such cells get a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """A file-like object whose write() returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def csv_lines(events: Iterable[AuditEvent], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """The CSV text in chunks of `rows_per_chunk` rows (a chunk per row costs the response
    more than the row itself)."""
    writer = csv.writer(_Line())
    chunk = [writer.writerow(HEADER)]
    for event in events:
        chunk.append(
            writer.writerow(
                [
                    event.created_at.isoformat(),
                    _safe(event.actor_label),
                    event.action,
                    _safe(event.target),
                    _safe(describe(event)),
                    _safe(json.dumps(event.details, sort_keys=True, default=str)),
                ]
            )
        )
        if len(chunk) >= rows_per_chunk:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)
