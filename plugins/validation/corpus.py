"""Running the validator over a corpus laid out like ../shared/corpus, and writing its report.

An entry is a directory holding `ai-plugin.json` and/or `openapi.json|yaml|yml`, and for store
entries `store-entry.json`, whose `domain` is the origin. `SOURCES.tsv` gives each entry's kind;
entries it doesn't list are kind "unknown". A legacy `openplugin-manifest.json` is not a
supported dialect and is not read.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from plugins.validation.core import validate_plugin
from plugins.validation.datatypes import PluginInput, Severity, ValidationReport

STORE = "store-archive"
SPEC_NAMES = ("openapi.json", "openapi.yaml", "openapi.yml")
_V3 = re.compile(r"^3\.\d+(\.\d+)?$")


@dataclass(frozen=True)
class Entry:
    slug: str
    kind: str
    source: PluginInput
    readable_v3: bool  # the spec parses to a mapping with `openapi` 3.x (normalised) and paths


@dataclass
class EntryResult:
    entry: Entry
    report: ValidationReport
    seconds: float


@dataclass
class CorpusOutcome:
    results: list[EntryResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def store_readable(self) -> list[EntryResult]:
        return [r for r in self.results if r.entry.kind == STORE and r.entry.readable_v3]

    def bar_line(self) -> str:
        readable = self.store_readable
        passed = sum(1 for r in readable if r.report.passed)
        return f"store-archive: {passed} of {len(readable)} readable passed"


def is_readable_openapi3(data: bytes | None) -> bool:
    """The corpus bar's definition of a readable OpenAPI 3 document (independent of checks)."""
    if data is None:
        return False
    from plugins.validation.parsing import DocumentError, parse_document

    try:
        doc = parse_document(data)
    except DocumentError:
        return False
    version = doc.get("openapi")
    if isinstance(version, int | float) and not isinstance(version, bool):
        version = str(version)
    if not isinstance(version, str):
        return False
    return bool(_V3.match(version.strip().strip("'\"").strip())) and isinstance(
        doc.get("paths"), dict
    )


def _kinds(root: Path) -> dict[str, str]:
    sources = root / "SOURCES.tsv"
    if not sources.exists():
        return {}
    with sources.open(newline="", encoding="utf-8") as fh:
        return {row["slug"]: row["kind"] for row in csv.DictReader(fh, delimiter="\t")}


def _origin(directory: Path) -> str | None:
    store_entry = directory / "store-entry.json"
    if not store_entry.exists():
        return None
    try:
        domain = json.loads(store_entry.read_bytes()).get("domain")
    except (ValueError, AttributeError):
        return None
    return domain if isinstance(domain, str) and domain else None


def load_entry(directory: Path, kind: str = "unknown") -> Entry:
    manifest_path = directory / "ai-plugin.json"
    spec_path = next((directory / n for n in SPEC_NAMES if (directory / n).exists()), None)
    manifest = manifest_path.read_bytes() if manifest_path.exists() else None
    spec = spec_path.read_bytes() if spec_path else None
    origin = _origin(directory)
    source = PluginInput(
        manifest=manifest,
        openapi=spec,
        origin=origin,
        manifest_url=f"https://{origin}/.well-known/ai-plugin.json"
        if origin and manifest
        else None,
    )
    return Entry(directory.name, kind, source, is_readable_openapi3(spec))


def iter_entries(root: Path) -> Iterator[Entry]:
    kinds = _kinds(root)
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        if directory.name.startswith("."):
            continue
        yield load_entry(directory, kinds.get(directory.name, "unknown"))


def run_corpus(entries: Iterable[Entry]) -> CorpusOutcome:
    outcome = CorpusOutcome()
    started = time.perf_counter()
    for entry in entries:
        t0 = time.perf_counter()
        report = validate_plugin(entry.source)
        outcome.results.append(EntryResult(entry, report, time.perf_counter() - t0))
    outcome.seconds = time.perf_counter() - started
    return outcome


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_report(outcome: CorpusOutcome, corpus_name: str = "corpus") -> str:
    results = outcome.results
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        by_kind[r.entry.kind]["entries"] += 1
        by_kind[r.entry.kind]["passed" if r.report.passed else "failed"] += 1
        by_kind[r.entry.kind]["readable_v3"] += r.entry.readable_v3
    findings, entries_with, severities = Counter(), Counter(), {}
    for r in results:
        for f in r.report.findings:
            findings[f.code] += 1
            severities[f.code] = str(f.severity)
        for code in r.report.codes():
            entries_with[code] += 1
    lines = [
        "# Corpus validation report",
        "",
        f"Generated by `python manage.py validate_corpus` over `{corpus_name}`: "
        f"{len(results)} entries. Regenerate it after changing a check.",
        "",
        f"**{outcome.bar_line()}** (the bar: every approved store plugin whose spec is a "
        "readable OpenAPI 3 document passes with no error).",
        "",
        "## Entries per kind",
        "",
        "| kind | entries | readable OpenAPI 3 spec | passed | failed |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind in sorted(by_kind):
        c = by_kind[kind]
        lines.append(
            f"| {kind} | {c['entries']} | {c['readable_v3']} | {c['passed']} | {c['failed']} |"
        )
    lines += [
        "",
        "## Findings per code",
        "",
        "| code | severity | findings | entries |",
        "|---|---|---:|---:|",
    ]
    order = {str(Severity.ERROR): 0, str(Severity.WARNING): 1, str(Severity.INFO): 2}
    for code in sorted(findings, key=lambda c: (order.get(severities[c], 3), -entries_with[c], c)):
        lines.append(f"| `{code}` | {severities[code]} | {findings[code]} | {entries_with[code]} |")
    failing = [r for r in results if not r.report.passed]
    lines += [
        "",
        f"## Entries that fail ({len(failing)})",
        "",
        "Each with its error codes and the first error's message.",
        "",
        "| entry | kind | readable v3 | errors | first error |",
        "|---|---|---|---|---|",
    ]
    for r in failing:
        errors = r.report.errors
        codes = ", ".join(sorted({f"`{e.code}`" for e in errors}))
        first = errors[0]
        where = f" ({first.document}{first.pointer and ' ' + first.pointer})"
        lines.append(
            f"| {r.entry.slug} | {r.entry.kind} | {'yes' if r.entry.readable_v3 else 'no'}"
            f" | {codes} | {_cell(first.message[:160] + where)} |"
        )
    return "\n".join(lines) + "\n"
