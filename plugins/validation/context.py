"""The state one validation run passes from check to check."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from plugins.validation.datatypes import Finding, NormalizedPlugin, PluginInput, Severity

OPENAI_MANIFEST = "openai-manifest"
OPENPLUGIN = "openplugin"

MAX_FINDINGS_PER_CODE = 25


@dataclass
class Context:
    source: PluginInput
    findings: list[Finding] = field(default_factory=list)
    # Parse stage
    manifest: dict | None = None  # the parsed manifest (a mapping), None if absent/unreadable
    manifest_given: bool = False
    spec_raw: Any = None  # the parsed spec, untouched
    dialect: str | None = None
    root_domain: str | None = None
    spec_url: str | None = None  # absolute URL of the spec, when known (base for relative refs)
    # Repair stage
    spec: dict | None = None  # the working copy, repaired in place; None if not an OpenAPI 3 doc
    openapi_version: str | None = None
    operation_names: dict[str, str] = field(default_factory=dict)  # operation pointer -> name
    remote_refs: set[str] = field(default_factory=set)
    bundles: dict[str, Any] = field(default_factory=dict)  # url -> parsed bundle (None: unreadable)
    # Model stage
    plugin: NormalizedPlugin | None = None
    halted: bool = False  # set when going on would be pointless or unbounded
    _per_code: Counter = field(default_factory=Counter)
    suppressed: Counter = field(default_factory=Counter)

    def add(self, finding: Finding) -> None:
        self._per_code[finding.code] += 1
        if self._per_code[finding.code] > MAX_FINDINGS_PER_CODE:
            self.suppressed[(finding.code, finding.severity, finding.document)] += 1
            return
        self.findings.append(finding)

    def has_error(self, code_prefix: str = "") -> bool:
        return any(
            f.severity == Severity.ERROR and f.code.startswith(code_prefix) for f in self.findings
        )

    def finish(self) -> tuple[Finding, ...]:
        """Findings, with one summary finding per code whose repeats were left out."""
        summaries = [
            Finding(
                severity,
                code,
                document,
                "",
                f"{count} more finding(s) with this code were left out of the report.",
            )
            for (code, severity, document), count in self.suppressed.items()
        ]
        return tuple(self.findings + summaries)
