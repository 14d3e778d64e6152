"""The plugin validator core: documents and origin in, findings and a normalised plugin out.

    from plugins.validation import validate_plugin, PluginInput
    report = validate_plugin(PluginInput(manifest=..., openapi=..., origin="www.klarna.com"))
    report.passed, report.findings, report.plugin, report.normalized_openapi, report.remote_refs

Pure: no network, no database. Both dialects (an OpenAI ai-plugin.json manifest with its OpenAPI
document, or an OpenAPI document carrying x-openplugin / x-plugin-auth) become one normalised
plugin (`datatypes.NormalizedPlugin`, documented in datatypes.py). `diff_versions(old, new)`
compares two.

Severity policy: ERROR only for what makes a plugin unusable or unsafe; WARNING for what the
ChatGPT store accepted (the corpus test holds every approved store plugin with a readable
OpenAPI 3 spec to "no error"); INFO for notes. Fixable problems are repaired in
`normalized_openapi` (the raw documents are kept by the caller) and each repair is a warning.

Layout: model.py (types), registry.py (CHECKS), context.py (run state), refs.py ($ref
classification, bounded dereferencing), normalize.py (documents -> model), strict.py
(openapi-spec-validator, offline), processors.py (OpenPlugin processor registry), diff.py,
core.py (orchestration), corpus.py (corpus runs and the report), checks/ (the checks).

How to add a check
------------------
1. Pick the module in checks/ for its subject (or add one and import it in checks/__init__.py).
2. Write a small function taking (ctx, emit) and decorate it:

       @register("openapi.my_rule", stage=CheckStage.VALIDATE,
                 codes={"openapi.my_rule.broken": Severity.WARNING})
       def check_my_rule(ctx: Context, emit: Emit) -> None:
           '''One line saying what it checks.'''
           if ctx.spec is None:
               return
           emit("openapi.my_rule.broken", "/paths/~1x/get", "What is wrong.", hint="The fix.")

   `emit` takes the severity from the declaration; `document=` says which document the
   pointer is into ("openapi" by default, "manifest", "plugin"). Read `ctx.manifest`,
   `ctx.spec` (the repaired copy), `ctx.plugin` (the model, VALIDATE stage on). Repairs
   (CheckStage.REPAIR) may change `ctx.spec`; give them an `order`.
3. Messages never quote more than a short excerpt of the input.
4. Add a spec-style test in tests/validation/ (`test_it_...`) with a small inline document,
   and run the corpus test: a store plugin with a readable spec must still pass.
"""

from plugins.validation.core import validate_plugin
from plugins.validation.datatypes import (
    Finding,
    NormalizedPlugin,
    PluginInput,
    Severity,
    ValidationReport,
)
from plugins.validation.diff import diff_versions
from plugins.validation.registry import CHECKS

__all__ = [
    "CHECKS",
    "Finding",
    "NormalizedPlugin",
    "PluginInput",
    "Severity",
    "ValidationReport",
    "diff_versions",
    "validate_plugin",
]
