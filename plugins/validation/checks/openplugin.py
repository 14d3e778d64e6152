"""Validate stage: OpenPlugin extensions (docs §5) that can't work are errors.

They are checked wherever they appear, in either dialect. Templates are compile-checked by the
marketplace's sandbox (`plugins.sandbox.check_template`), never rendered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from plugins.validation.context import Context
from plugins.validation.datatypes import Operation, Severity
from plugins.validation.processors import lookup_processor
from plugins.validation.registry import CheckStage, Emit, register
from plugins.validation.walk import as_list, iter_operations

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741


def _ops(ctx: Context) -> list[Operation]:
    return ctx.plugin.operations if ctx.plugin is not None else []


def _template_issues(source: str, where: str, emit: Emit, what: str) -> None:
    from plugins.sandbox import check_template

    for issue in check_template(source):
        code = issue.code if issue.code.startswith("template.") else f"template.{issue.code}"
        line = f" (line {issue.line})" if issue.line else ""
        emit(
            f"openplugin.{code}",
            where,
            f"{what}: {issue.message}{line}",
            severity=Severity(issue.severity),
        )


@register(
    "openplugin.bootstrap",
    stage=CheckStage.VALIDATE,
    codes={
        "openplugin.bootstrap.wrong_type": E,
        "openplugin.bootstrap.missing_value": E,
        "openplugin.bootstrap.value_wrong_type": E,
        "openplugin.template.*": None,
    },
)
def check_bootstrap(ctx: Context, emit: Emit) -> None:
    """A bootstrap operation runs without the model: each required parameter needs a value."""
    if ctx.spec is None:
        return
    for _path, _method, raw, where in iter_operations(ctx.spec):
        if "x-bootstrap" in raw and not isinstance(raw["x-bootstrap"], bool):
            emit(
                "openplugin.bootstrap.wrong_type",
                f"{where}/x-bootstrap",
                "x-bootstrap must be true or false.",
            )
        for index, param in enumerate(as_list(raw.get("parameters"))):
            value = param.get("x-bootstrap-value") if isinstance(param, dict) else None
            at = f"{where}/parameters/{index}/x-bootstrap-value"
            if value is not None and not isinstance(value, str):
                emit(
                    "openplugin.bootstrap.value_wrong_type",
                    at,
                    "x-bootstrap-value must be a template string.",
                )
            elif isinstance(value, str):
                _template_issues(value, at, emit, "x-bootstrap-value")
    for op in _ops(ctx):
        if not op.bootstrap:
            continue
        for param in op.parameters:
            if param.required and not param.bootstrap_value:
                emit(
                    "openplugin.bootstrap.missing_value",
                    f"{op.pointer}/parameters",
                    f"Bootstrap operation '{op.name}' runs without the model, but its required "
                    f"parameter '{param.name[:80]}' has no x-bootstrap-value.",
                    hint="Add x-bootstrap-value: '{{ auth.token }}' (or another template).",
                )


def _target(ctx: Context, block: Any) -> Operation | None:
    method, path = block.get("method"), block.get("path")
    if not isinstance(method, str) or not isinstance(path, str) or ctx.plugin is None:
        return None
    return ctx.plugin.operation(method, path)


def _needs_input(ctx: Context, target: Operation, provided=None) -> str | None:
    from plugins.tools.canonical import security_parameter_names, set_by_marketplace
    from plugins.tools.references import missing_input

    names = security_parameter_names(ctx.spec)
    return missing_input(
        target.to_dict(),
        set_by_marketplace=lambda p: set_by_marketplace(p, names),
        provided=provided,
    )


def _model_supplies(target: Operation, missing: str) -> str:
    chained = any(p.name == missing and p.x_dependent for p in target.parameters)
    return (
        f"'{target.name}' needs model input ({missing[:80]} has no default or "
        "x-bootstrap-value"
        + (", and x-dependent is followed one level deep only" if chained else "")
        + ")"
    )


@register(
    "openplugin.references",
    stage=CheckStage.VALIDATE,
    codes={
        "openplugin.dependent.invalid": E,
        "openplugin.dependent.unknown_operation": E,
        "openplugin.dependent.self_reference": E,
        "openplugin.dependent.needs_input": I,
        "openplugin.lookup.invalid": E,
        "openplugin.lookup.unknown_operation": E,
        "openplugin.lookup.unknown_parameter": W,
        "openplugin.lookup.needs_input": I,
    },
)
def check_references(ctx: Context, emit: Emit) -> None:
    """x-dependent and x-lookup name an operation ({path, method}) of this plugin; the
    marketplace resolves them when that operation needs no model input (plugins.tools.references)
    and says so when it can't."""
    if ctx.spec is None or ctx.plugin is None:
        return
    for path, method, raw, where in iter_operations(ctx.spec):
        for index, param in enumerate(as_list(raw.get("parameters"))):
            if not isinstance(param, dict) or "x-dependent" not in param:
                continue
            block, at = param["x-dependent"], f"{where}/parameters/{index}/x-dependent"
            _check_dependent(ctx, emit, block, at, (method, path), param.get("name"))
    for op in ctx.plugin.operations:
        for lookup in op.lookup:
            _check_lookup(ctx, emit, op, lookup)


def _check_dependent(ctx: Context, emit: Emit, block: Any, at: str, own, name: Any) -> None:
    if (
        not isinstance(block, dict)
        or not isinstance(block.get("path"), str)
        or not isinstance(block.get("field", ""), str)
    ):
        emit(
            "openplugin.dependent.invalid",
            at,
            "x-dependent must be {path, method} of another operation (and an optional "
            "`field` string).",
        )
        return
    target = _target(ctx, block)
    if target is None:
        emit(
            "openplugin.dependent.unknown_operation",
            at,
            f"x-dependent points at {str(block.get('method')).upper()} "
            f"{block['path'][:120]}, which is not an operation of this plugin.",
        )
    elif (target.method, target.path) == (str(own[0]).lower(), own[1]):
        emit(
            "openplugin.dependent.self_reference",
            at,
            "x-dependent points at its own operation: the value can't come from the call "
            "that needs it.",
        )
    elif missing := _needs_input(ctx, target):
        emit(
            "openplugin.dependent.needs_input",
            at,
            f"The model supplies '{str(name)[:80]}': the marketplace fills an x-dependent "
            f"parameter only when the operation it names needs no model input, and "
            f"{_model_supplies(target, missing)}.",
        )


def _check_lookup(ctx: Context, emit: Emit, op: Operation, lookup: dict) -> None:
    from plugins.tools.references import lookup_parameter

    at = f"{op.pointer}/responses/{lookup.get('response')}"
    wanted = lookup_parameter(lookup.get("parameter"))
    if not isinstance(lookup.get("path"), str) or wanted is None:
        emit(
            "openplugin.lookup.invalid",
            at,
            "x-lookup must be {path, method, parameter}, the parameter written "
            "$request.<query|path|header|cookie>.<name>.",
        )
        return
    target = _target(ctx, lookup)
    if target is None:
        emit(
            "openplugin.lookup.unknown_operation",
            at,
            f"x-lookup points at {str(lookup.get('method')).upper()} "
            f"{lookup['path'][:120]}, which is not an operation of this plugin.",
        )
    elif wanted not in {(p.location, p.name) for p in target.parameters}:
        emit(
            "openplugin.lookup.unknown_parameter",
            at,
            f"x-lookup's parameter '{wanted[1][:80]}' is not a {wanted[0]} parameter of "
            f"'{target.name}'.",
        )
    elif missing := _needs_input(ctx, target, provided=wanted):
        emit(
            "openplugin.lookup.needs_input",
            at,
            f"The marketplace can't resolve this x-lookup: {_model_supplies(target, missing)}.",
        )


def _chains(spec: dict) -> Iterator[tuple[str, Any]]:
    """(pointer, chain) for every processor chain: output modules and x-filter."""
    modules = spec.get("x-output-modules")
    if modules is not None:
        yield from _module_list(modules, "/x-output-modules")
    for _path, _method, raw, where in iter_operations(spec):
        if "x-output-modules" in raw:
            yield from _module_list(raw["x-output-modules"], f"{where}/x-output-modules")
        if "x-filter" in raw:
            yield f"{where}/x-filter", raw["x-filter"]
        responses = raw.get("responses")
        for code, response in responses.items() if isinstance(responses, dict) else []:
            if isinstance(response, dict) and "x-filter" in response:
                yield f"{where}/responses/{code}/x-filter", response["x-filter"]


def _module_list(modules: Any, where: str) -> Iterator[tuple[str, Any]]:
    if not isinstance(modules, list):
        yield where, None
        return
    for index, module in enumerate(modules):
        yield f"{where}/{index}", module


@register(
    "openplugin.processors",
    stage=CheckStage.VALIDATE,
    codes={
        "openplugin.chain.invalid": E,
        "openplugin.processor.unknown": E,
        "openplugin.processor.missing_template": E,
        "openplugin.processor.not_run": W,
        "openplugin.template.*": None,
    },
)
def check_processors(ctx: Context, emit: Emit) -> None:
    """Every processor in x-filter / x-output-modules is a registered type; templates compile."""
    if ctx.spec is None:
        return
    for where, chain in _chains(ctx.spec):
        processors = chain.get("processors") if isinstance(chain, dict) else None
        if not isinstance(processors, list) or not processors:
            emit(
                "openplugin.chain.invalid",
                where,
                "A processor chain must be a mapping with a non-empty `processors` list.",
            )
            continue
        for index, proc in enumerate(processors):
            _check_processor(proc, f"{where}/processors/{index}", emit)


def _check_processor(proc: Any, at: str, emit: Emit) -> None:
    if not isinstance(proc, dict):
        emit("openplugin.chain.invalid", at, "A processor must be a mapping.")
        return
    implementation = proc.get(
        "processor_implementation_type", proc.get("processorImplementationType")
    )
    kind = proc.get("processor_type", proc.get("processorType"))
    registered = lookup_processor(implementation, kind)
    if registered is None:
        emit(
            "openplugin.processor.unknown",
            at,
            f"Unknown processor type '{str(implementation or kind)[:60]}'.",
            hint="Use a documented processor such as template_engine_with_jinja.",
        )
        return
    if not registered.runnable:
        emit(
            "openplugin.processor.not_run",
            at,
            f"Processor '{registered.implementation}' is documented but the marketplace does "
            "not run it; the response passes through unprocessed.",
        )
    if registered.template_key:
        metadata = proc.get("metadata")
        template = metadata.get(registered.template_key) if isinstance(metadata, dict) else None
        if not isinstance(template, str):
            emit(
                "openplugin.processor.missing_template",
                f"{at}/metadata",
                f"Processor '{registered.implementation}' needs metadata."
                f"{registered.template_key} (a template string).",
            )
        else:
            _template_issues(template, f"{at}/metadata/{registered.template_key}", emit, "Template")


@register(
    "openplugin.descriptive",
    stage=CheckStage.VALIDATE,
    codes={"openplugin.few_shot.unknown_parameter": W, "openplugin.extension.malformed": W},
)
def check_descriptive(ctx: Context, emit: Emit) -> None:
    """x-few-shot-examples map to real parameters; descriptive extensions have usable shapes."""
    if ctx.spec is None or ctx.plugin is None:
        return
    ops = {op.pointer: op for op in ctx.plugin.operations}
    for _path, _method, raw, where in iter_operations(ctx.spec):
        usage = raw.get("x-human-usage-examples")
        if usage is not None and not (
            isinstance(usage, list) and all(isinstance(u, str) for u in usage)
        ):
            emit(
                "openplugin.extension.malformed",
                f"{where}/x-human-usage-examples",
                "x-human-usage-examples should be a list of sentences; it is ignored.",
            )
        examples = raw.get("x-few-shot-examples")
        if examples is None:
            continue
        if not isinstance(examples, list):
            emit(
                "openplugin.extension.malformed",
                f"{where}/x-few-shot-examples",
                "x-few-shot-examples should be a list of {prompt, parameter_mapping}.",
            )
            continue
        op = ops.get(where)
        names = _argument_names(op) if op else set()
        for index, example in enumerate(examples):
            mapping = example.get("parameter_mapping") if isinstance(example, dict) else None
            if not isinstance(mapping, dict):
                emit(
                    "openplugin.extension.malformed",
                    f"{where}/x-few-shot-examples/{index}",
                    "A few-shot example needs a prompt and a parameter_mapping object.",
                )
                continue
            for name in mapping:
                if name not in names:
                    emit(
                        "openplugin.few_shot.unknown_parameter",
                        f"{where}/x-few-shot-examples/{index}/parameter_mapping",
                        f"The example maps '{str(name)[:80]}', which is not a parameter of "
                        f"'{op.name if op else where}'.",
                    )


def _argument_names(op: Operation) -> set[str]:
    names = {p.name for p in op.parameters}
    schema = op.request_body.schema if op.request_body else None
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        names.update(str(k) for k in schema["properties"])
    return names
