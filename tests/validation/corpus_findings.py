"""The validator's findings on the whole corpus, fingerprinted per entry.

`corpus_findings.tsv` holds, for every corpus entry, a digest of its findings (as a multiset:
severity, code, document, pointer, message, hint) and of its normalised output, plus its codes
for reading. openapi-spec-validator reports one error per schema and checks a schema reached by
several paths once, in an order that follows Python's string hashing: so which strict errors are
reported varies with PYTHONHASHSEED. The file is written, and checked, with PYTHONHASHSEED=0.
It was written before the validator was made faster, and the corpus test holds the validator
to it: speed-ups may not change what is found. After an intended change to a
check, rewrite it with `PYTHONHASHSEED=0 python -m tests.validation.corpus_findings` and review
the diff.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections import Counter
from pathlib import Path

GOLDEN = Path(__file__).with_name("corpus_findings.tsv")


def fingerprint(report) -> tuple[str, str, str]:
    """(findings digest, output digest, codes) of one report."""
    findings = sorted(
        json.dumps(
            [str(f.severity), f.code, f.document, f.pointer, f.message, f.hint],
            ensure_ascii=False,
        )
        for f in report.findings
    )
    output = json.dumps(
        [report.plugin, report.normalized_openapi, list(report.remote_refs)],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    codes = Counter(f.code for f in report.findings)
    return (
        hashlib.sha256("\n".join(findings).encode()).hexdigest()[:16],
        hashlib.sha256(output.encode()).hexdigest()[:16],
        " ".join(f"{code}x{n}" if n > 1 else code for code, n in sorted(codes.items())),
    )


def read_golden() -> dict[str, tuple[str, str, str]]:
    rows = {}
    for line in GOLDEN.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            slug, findings, output, codes = line.split("\t")
            rows[slug] = (findings, output, codes)
    return rows


def write_golden(results) -> None:
    lines = ["# slug\tfindings digest\toutput digest\tcodes (see corpus_findings.py)"]
    for r in sorted(results, key=lambda r: r.entry.slug):
        lines.append("\t".join([r.entry.slug, *fingerprint(r.report)]))
    GOLDEN.write_text("\n".join(lines) + "\n", encoding="utf-8")


def differences(results) -> list[str]:
    golden = read_golden()
    seen = {r.entry.slug: fingerprint(r.report) for r in results}
    lines = []
    for slug in sorted(golden.keys() | seen.keys()):
        before, after = golden.get(slug), seen.get(slug)
        if before is None or after is None or before[:2] != after[:2]:
            what = "findings" if before and after and before[0] != after[0] else "output"
            lines.append(f"{slug}: {what} changed\n  before: {before}\n  after:  {after}")
    return lines


def main(argv: list[str]) -> int:
    """Write the file, or with --check compare against it (exit 1 and list the entries)."""
    if os.environ.get("PYTHONHASHSEED") != "0":
        print("run with PYTHONHASHSEED=0", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    from django.conf import settings

    from plugins.validation.corpus import iter_entries, run_corpus

    outcome = run_corpus(iter_entries(Path(settings.MARKETPLACE_CORPUS_DIR)))
    if "--check" in argv:
        changed = differences(outcome.results)
        print("\n".join(changed) or f"{len(outcome.results)} entries: the same findings")
        return 1 if changed else 0
    write_golden(outcome.results)
    print(f"wrote {GOLDEN} ({len(outcome.results)} entries in {outcome.seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
