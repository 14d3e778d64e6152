"""What the sandbox reports: a refused or failed template, and a static issue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CODES = frozenset(
    {
        "template.syntax_error",
        "template.unsafe_attribute",
        "template.too_large",
        "template.too_expensive",
        "template.render_failed",
        "template.output_too_large",
        "template.timeout",
    }
)


class TemplateRejected(Exception):
    """A template was refused or failed. ``code`` is stable; ``message`` is safe to show."""

    def __init__(self, code: str, message: str, line: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line

    def __repr__(self) -> str:
        return f"TemplateRejected({self.code!r}, {self.message!r}, line={self.line!r})"


@dataclass(frozen=True)
class TemplateIssue:
    code: str
    message: str
    line: int | None
    severity: str  # "error" | "warning"


def error_issue(code: str, message: str, line: int | None = None) -> TemplateIssue:
    return TemplateIssue(code, message, line, "error")


def clip(text: Any, limit: int = 300) -> str:
    """One line, at most ``limit`` characters: safe to show."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
