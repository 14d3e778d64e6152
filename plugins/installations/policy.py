"""THE policy: what a member may list and call on an installation, and with which values.

`policy_for(installation=..., user=..., toolset=...)` is the only place that decides it. The
lookup API lists `policy.grants`; the proxy calls `policy.check(operation, arguments)` before
anything goes upstream; the MCP gateway does both. A test asserts that everything listed is
callable and nothing unlisted is.

Rules:
- an installation whose pinned version no longer matches its content hash offers nothing
  (plugins.installations.integrity), every operation refused with that reason;
- a disabled installation offers nothing; an operation the spec can't serve (ToolSet.disabled)
  or an admin turned off is refused with its reason;
- a *guarded* argument (marked `x-marketplace-resource` in the spec, or by an admin for the
  installation) is allowed only with a value from the member's allow-list for that argument
  (the member's own row, else the installation's default for members); no entry → the operation
  is not offered and a call is refused (default deny);
- values are compared exactly: same type (a string), same code points. No case folding, no
  Unicode normalisation, no trimming: "Sales", "sales" with a Cyrillic s and ["sales"] are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plugins.tools import Tool, ToolSet, narrowed


@dataclass(frozen=True)
class Grant:
    """An operation the member may call: the tool as they see it, and their allowed values."""

    tool: Tool
    allowed: dict[str, list[str]]  # guarded argument -> allowed values
    kinds: dict[str, str]  # guarded argument -> resource kind


@dataclass(frozen=True)
class Refusal:
    # "not_servable" (the validated spec can't serve it) | "operation_unavailable" (turned off)
    # | "not_allowed" | "unknown_operation" | "pin_mismatch"
    code: str
    message: str
    argument: str | None = None


@dataclass(frozen=True)
class Policy:
    grants: dict[str, Grant] = field(default_factory=dict)  # by operation name
    refusals: dict[str, Refusal] = field(default_factory=dict)
    pin_problem: str | None = None  # why nothing is served from the pinned version

    def operation(self, operation: str) -> Grant | Refusal:
        """The grant for `operation`, or why it can't be called at all."""
        if operation in self.grants:
            return self.grants[operation]
        return self.refusals.get(
            operation, Refusal("unknown_operation", "This plugin has no such operation.")
        )

    def check(self, operation: str, arguments: dict) -> Grant | Refusal:
        """The grant when `arguments` may be sent for `operation`, else the refusal.

        Run after the arguments were validated against the operation's schema, and again on the
        values actually placed in the upstream request.
        """
        decided = self.operation(operation)
        if isinstance(decided, Refusal):
            return decided
        for argument, values in decided.allowed.items():
            if argument in arguments and not value_allowed(arguments[argument], values):
                return Refusal(
                    "not_allowed",
                    f"You are not allowed to use this value for the parameter {argument!r}.",
                    argument,
                )
        return decided


def value_allowed(value: object, allowed: list[str]) -> bool:
    return isinstance(value, str) and any(value == candidate for candidate in allowed)


def policy_for(
    *,
    installation,
    user,
    toolset: ToolSet,
    allowed_values: dict | None,
    pin_problem: str | None = None,
) -> Policy:
    """What `user` may do on `installation` (whose pinned version's tools are `toolset`).

    `allowed_values` is the member's allow-list (their row's values, or the installation's
    default for members when they have none): {argument: [values]}. `pin_problem` is why the
    pinned version must not be served (integrity.pin_problem), if it must not.
    """
    if pin_problem:
        operations = [t.operation for t in toolset.tools] + [d.operation for d in toolset.disabled]
        return Policy(
            refusals={op: Refusal("pin_mismatch", pin_problem) for op in operations},
            pin_problem=pin_problem,
        )
    grants: dict[str, Grant] = {}
    refusals: dict[str, Refusal] = {}
    for disabled in toolset.disabled:
        refusals[disabled.operation] = Refusal("not_servable", disabled.reason)
    admin_off = installation.disabled_operations or {}
    admin_guarded = installation.guarded_arguments or {}
    values = allowed_values or {}
    for tool in toolset.tools:
        if not installation.enabled:
            refusals[tool.operation] = Refusal(
                "operation_unavailable", "This installation is disabled."
            )
            continue
        if tool.operation in admin_off:
            reason = admin_off[tool.operation] or "An administrator turned this operation off."
            refusals[tool.operation] = Refusal("operation_unavailable", str(reason))
            continue
        kinds = dict(tool.resources)
        kinds.update({arg: kind for arg, kind in admin_guarded.items() if arg in tool.bindings})
        allowed: dict[str, list[str]] = {}
        missing = None
        for argument in kinds:
            entry = values.get(argument)
            strings = [v for v in entry if isinstance(v, str)] if isinstance(entry, list) else []
            if not strings:
                missing = argument
                break
            allowed[argument] = strings
        if missing is not None:
            refusals[tool.operation] = Refusal(
                "not_allowed",
                f"You have no allowed values for the parameter {missing!r}.",
                missing,
            )
            continue
        grants[tool.operation] = Grant(tool=narrowed(tool, allowed), allowed=allowed, kinds=kinds)
    return Policy(grants=grants, refusals=refusals)
