"""Static checks: parse and compile a template without rendering it, and list its issues."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.sandbox import (
    UNSAFE_ASYNC_GENERATOR_ATTRIBUTES,
    UNSAFE_COROUTINE_ATTRIBUTES,
    UNSAFE_GENERATOR_ATTRIBUTES,
)

from plugins.sandbox.environment import SandboxEnvironment
from plugins.sandbox.errors import TemplateIssue, clip, error_issue
from plugins.sandbox.limits import MAX_TEMPLATE_CHARS

_UNSAFE_NAMES = frozenset(
    {"mro", "f_globals", "f_locals", "f_builtins", "f_back", "tb_frame", "tb_next"}
    | UNSAFE_GENERATOR_ATTRIBUTES
    | UNSAFE_COROUTINE_ATTRIBUTES
    | UNSAFE_ASYNC_GENERATOR_ATTRIBUTES
)
_FORMAT_METHODS = frozenset({"format", "format_map"})
_ATTRIBUTE_FILTERS = frozenset(
    {"map", "selectattr", "rejectattr", "groupby", "sort", "sum", "unique", "min", "max"}
)
_PRIVATE_FORMAT_FIELD = re.compile(r"\{[^{}]*[.\[]\s*_")  # "{0.__class__}", "{x[_y]}"


_checker = SandboxEnvironment(strict=True)


def check_template(source: str) -> list[TemplateIssue]:
    """Parse and compile ``source`` without rendering it; return its issues.

    Errors: ``template.too_large``, ``template.syntax_error`` (with line),
    ``template.unsafe_attribute`` (with line), ``template.too_expensive`` (nested too deeply).
    Warnings: ``template.unsafe_attribute`` for ``|attr`` with a computed name.
    """
    return list(cached_check(source))


@functools.lru_cache(maxsize=256)
def cached_check(source: str) -> tuple[TemplateIssue, ...]:
    if not isinstance(source, str):
        raise TypeError(f"a template is a str, not {type(source).__name__}")
    if len(source) > MAX_TEMPLATE_CHARS:
        return (
            error_issue(
                "template.too_large",
                f"The template has {len(source):,} characters; the limit is "
                f"{MAX_TEMPLATE_CHARS:,}.",
            ),
        )
    issues: list[TemplateIssue] = []
    try:
        tree = _checker.parse(source)
        issues.extend(_static_issues(tree))
        _checker.compile(tree)  # finds unknown filters and tests, among others
    except TemplateSyntaxError as exc:
        issues.append(error_issue("template.syntax_error", clip(exc.message or exc), exc.lineno))
    except (RecursionError, MemoryError):
        issues.append(error_issue("template.too_expensive", "The template is nested too deeply."))
    except Exception as exc:  # the Python compiler refusing generated code, say
        issues.append(error_issue("template.syntax_error", f"Cannot compile: {clip(exc)}"))
    return tuple(issues)


def _static_issues(tree: nodes.Template) -> Iterator[TemplateIssue]:
    """Errors for dunder and interpreter-internal names, wherever a template names an attribute.

    A single leading underscore is only a warning on ``x._name``: the sandbox blocks private
    attributes of objects but still finds data keys such as HAL's ``_links`` or ``_id``.
    """
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        names: list[Any] = []
        if isinstance(node, nodes.Getattr):
            names.append(node.attr)
            if node.attr in _FORMAT_METHODS and _reaches_private_field(node.node):
                yield error_issue(
                    "template.unsafe_attribute",
                    "A format string may not reach attributes starting with '_'.",
                    node.lineno,
                )
            elif node.attr.startswith("_") and not _is_internal(node.attr):
                yield TemplateIssue(
                    "template.unsafe_attribute",
                    f"'.{clip(node.attr, 60)}' can only read a data key; write "
                    f"[{clip(node.attr, 60)!r}] instead.",
                    node.lineno,
                    "warning",
                )
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            names.append(node.arg.value)
        elif isinstance(node, nodes.Filter) and node.name == "attr":
            named = [keyword.value for keyword in node.kwargs if keyword.key == "name"]
            argument = (node.args or named or [None])[0]
            if not isinstance(argument, nodes.Const):
                yield TemplateIssue(
                    "template.unsafe_attribute",
                    "attr() with a computed name cannot be checked before rendering.",
                    node.lineno,
                    "warning",
                )
                continue
            if argument.value in _FORMAT_METHODS or str(argument.value).startswith("_"):
                yield error_issue(
                    "template.unsafe_attribute",
                    f"attr({clip(argument.value, 60)!r}) is not allowed.",
                    node.lineno,
                )
                continue
            names.append(argument.value)
        elif isinstance(node, nodes.Filter) and node.name in _ATTRIBUTE_FILTERS:
            # map(attribute='a.b'), sort(attribute=...), selectattr('a.b'), map('attr', 'x')
            values = [*node.args, *(keyword.value for keyword in node.kwargs)]
            for value in values:
                if isinstance(value, nodes.Const) and isinstance(value.value, str):
                    names.extend(value.value.split("."))
        for name in names:
            if isinstance(name, str) and _is_internal(name):
                yield error_issue(
                    "template.unsafe_attribute",
                    f"Access to the attribute {clip(name, 60)!r} is not allowed.",
                    node.lineno,
                )
                break
    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        yield error_issue(
            "template.syntax_error",
            "Templates cannot extend, include or import other templates.",
            node.lineno,
        )


def _is_internal(name: str) -> bool:
    return name.startswith("__") or name in _UNSAFE_NAMES


def _reaches_private_field(receiver: nodes.Node) -> bool:
    """``'{0.__class__}'.format``: a constant format string with a field like ``.__x``."""
    return (
        isinstance(receiver, nodes.Const)
        and isinstance(receiver.value, str)
        and _PRIVATE_FORMAT_FIELD.search(receiver.value) is not None
    )
