"""The check registry: every finding the validator can produce belongs to one registered check.

A check is a small function `(ctx, emit) -> None` registered with the codes it may emit and the
severity of each. `emit(code, pointer, message, ...)` looks the severity up in that declaration,
so a code always has one severity. A code declared with a trailing `.*` is a family whose members
carry their own severity (template issues reported by the sandbox).

Checks run by stage, in registration order within a stage (see `CheckStage`). A check that raises is
reported as one `internal.error` finding and the run goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from plugins.validation.datatypes import Finding, Severity

if TYPE_CHECKING:
    from plugins.validation.context import Context

logger = logging.getLogger(__name__)


class CheckStage(IntEnum):
    PARSE = 1  # bytes -> documents; dialect; root domain
    REPAIR = 2  # the working copy of the spec is repaired (each repair a finding)
    MODEL = 3  # the normalised plugin is built from the repaired documents
    VALIDATE = 4  # rules over the documents and the model
    STRICT = 5  # openapi-spec-validator over the repaired spec


class Emit:
    """The `emit` handed to one check run: builds findings with the check's declared severities."""

    def __init__(self, check: Check, ctx: Context) -> None:
        self.check = check
        self.ctx = ctx

    def __call__(
        self,
        code: str,
        pointer: str,
        message: str,
        *,
        hint: str = "",
        document: str = "openapi",
        severity: Severity | None = None,
    ) -> None:
        declared = self.check.severity_of(code)
        if declared is None and severity is None:
            raise KeyError(f"check {self.check.name} emitted undeclared code {code}")
        self.ctx.add(Finding(declared or severity, code, document, pointer, message, hint))


@dataclass(frozen=True)
class Check:
    name: str
    stage: CheckStage
    codes: Mapping[str, Severity | None]
    func: Callable[[Context, Emit], None]
    doc: str = ""
    order: int = 100

    def severity_of(self, code: str) -> Severity | None:
        if code in self.codes:
            return self.codes[code]
        for declared in self.codes:
            if declared.endswith(".*") and code.startswith(declared[:-1]):
                return self.codes[declared]
        return None

    def declares(self, code: str) -> bool:
        return code in self.codes or any(
            d.endswith(".*") and code.startswith(d[:-1]) for d in self.codes
        )


CHECKS: dict[str, Check] = {}


def register(
    name: str, *, stage: CheckStage, codes: Mapping[str, Severity | None], order: int = 100
) -> Callable[[Callable[[Context, Emit], None]], Callable[[Context, Emit], None]]:
    """Decorator: add a check to `CHECKS` (names are unique; re-registering replaces).

    Checks run by (stage, order); `order` matters only where one check needs another's work
    (the repairs and the model builders)."""

    def decorate(func: Callable[[Context, Emit], None]) -> Callable[[Context, Emit], None]:
        CHECKS[name] = Check(name, stage, dict(codes), func, (func.__doc__ or "").strip(), order)
        return func

    return decorate


def all_codes() -> dict[str, Severity | None]:
    codes: dict[str, Severity | None] = {}
    for check in CHECKS.values():
        codes.update(check.codes)
    return codes


def run_stage(ctx: Context, stage: CheckStage) -> None:
    for check in sorted((c for c in CHECKS.values() if c.stage == stage), key=lambda c: c.order):
        if ctx.halted:
            return
        try:
            check.func(ctx, Emit(check, ctx))
        except Exception as exc:  # a bug in one check must not lose the whole report
            logger.exception("validation check %s failed", check.name)
            ctx.add(
                Finding(
                    Severity.ERROR,
                    "internal.error",
                    "plugin",
                    "",
                    f"The validator failed in check '{check.name}' ({type(exc).__name__}).",
                    "This is a bug in the marketplace, not in the plugin; it has been logged.",
                )
            )
