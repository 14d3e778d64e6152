"""`validate_plugin`: documents and origin in, findings and the normalised plugin out.

Pure: no network, no database, no clock. Every stage's checks run in order (registry.CheckStage);
a check that fails is reported as `internal.error` and the run goes on.
"""

from __future__ import annotations

import json
import logging

from plugins.validation import checks  # noqa: F401  (registers the checks)
from plugins.validation.context import Context
from plugins.validation.datatypes import Finding, PluginInput, Severity, ValidationReport
from plugins.validation.registry import CheckStage, run_stage

logger = logging.getLogger(__name__)


def validate_plugin(source: PluginInput) -> ValidationReport:
    """Validate one plugin version; never raises."""
    ctx = Context(source)
    plugin = normalized = None
    try:
        for stage in CheckStage:
            run_stage(ctx, stage)
            if ctx.halted:
                break
        if not ctx.halted:
            plugin = json.loads(json.dumps(ctx.plugin.to_dict())) if ctx.plugin else None
            normalized = ctx.spec
    except Exception as exc:
        logger.exception("validate_plugin failed")
        ctx.add(
            Finding(
                Severity.ERROR,
                "internal.error",
                "plugin",
                "",
                f"The validator failed ({type(exc).__name__}).",
                "This is a bug in the marketplace, not in the plugin; it has been logged.",
            )
        )
        plugin = normalized = None
    return ValidationReport(
        findings=ctx.finish(),
        plugin=plugin,
        normalized_openapi=normalized,
        remote_refs=tuple(sorted(ctx.remote_refs)),
    )
