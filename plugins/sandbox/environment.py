"""The sandboxed Jinja environment: immutable, no compile-time evaluation, bounded arithmetic.

Imported by the static checks (in-process) and by the render worker (in its own process); it
imports nothing of the project but the sandbox's limits.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import StrictUndefined, Undefined, pass_context
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from plugins.sandbox.limits import MAX_FORMAT_WIDTH, MAX_INT_BITS, MAX_SEQUENCE

PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


@pass_context
def finalize(context: Any, value: Any) -> Any:
    """Identity. Taking the context is what stops the compiler folding output expressions."""
    return value


class SandboxEnvironment(ImmutableSandboxedEnvironment):
    """The sandboxed environment: no compile-time evaluation, bounded arithmetic."""

    intercepted_binops = frozenset({"**", "*", "//", "%", "+"})
    intercepted_unops = frozenset({"-", "+"})

    def __init__(self, *, strict: bool) -> None:
        super().__init__(
            autoescape=False,
            undefined=StrictUndefined if strict else Undefined,
            optimized=False,
            finalize=finalize,
        )
        del self.globals["lipsum"]  # a CPU toy with no use in a plugin

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be huge, before computing it."""
    ints = isinstance(left, int) and isinstance(right, int)
    if operator == "**" and ints and right > 0 and abs(left) > 1:
        too_big = abs(left).bit_length() * right > MAX_INT_BITS
    elif operator == "*" and ints:
        too_big = left.bit_length() + right.bit_length() > MAX_INT_BITS
    elif operator == "*":
        sequence, times = (left, right) if isinstance(right, int) else (right, left)
        too_big = (
            isinstance(sequence, str | list | tuple)
            and isinstance(times, int)
            and len(sequence) * times > MAX_SEQUENCE
        )
    elif operator == "+":
        too_big = (
            isinstance(left, str | list | tuple)
            and isinstance(right, str | list | tuple)
            and len(left) + len(right) > MAX_SEQUENCE
        )
    elif operator == "%" and isinstance(left, str):
        too_big = any(
            part == "*" or (part and int(part) > MAX_FORMAT_WIDTH)
            for spec in PERCENT_SPEC.finditer(left)
            for part in spec.groups()
        )
    else:
        too_big = False
    if too_big:
        raise Expensive(f"the result of '{operator}' would be too large")


class Expensive(SecurityError):
    """Raised inside a render when an operation would use too much memory or time."""
