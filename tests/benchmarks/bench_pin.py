"""The installation pin's check and the call context's load, measured:
`python -m tests.benchmarks.bench_pin` (or `make bench`).

For real corpus specs (the largest the validator normalises, and typical ones: the median and
the 90th percentile by document size), installed and pinned in a throwaway test database, it
prints a markdown table:

- `py digest`: hashing the version's validated documents in Python, the way the pin was checked
  before PostgreSQL kept the digest (and still is on SQLite, where the database keeps none);
- `check`: `pin_problem` on an installation as its selector loads it (what each context load,
  passthrough request, served spec and "try it" pays for the pin);
- `load_context`: the proxy's whole context load (token, member, installation with its
  documents, policy, pin check), the tools already cached as in a warm process;
- `floor`: the installation and its version's row loaded by primary key (the documents decoded,
  nothing checked): what any context load pays for the documents themselves;
  `load_context / floor` is the ratio to compare across runs.

The version rows hold what the ingest stores, the documents as published included (raw bytes
a call never reads).

Medians over BENCH_N rounds (default 200). Runs against DATABASE_URL (PostgreSQL, or SQLite by
default) and the configured cache; the corpus from MARKETPLACE_CORPUS_DIR. Not collected by
pytest.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import (  # noqa: E402
    setup_databases,
    setup_test_environment,
    teardown_databases,
    teardown_test_environment,
)

ROUNDS = int(os.environ.get("BENCH_N", "200"))
TOP = 12  # the largest specs as published, validated to find the largest normalised one


def median_ms(func: Callable[[], object], rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def corpus_picks() -> list[tuple[str, str, dict, dict, object]]:
    """(label, slug, normalized, normalized_openapi, source) of the largest passing corpus entry
    and of typical ones (the median and p90 by the size of the spec as published); `source`
    holds the documents as published."""
    from plugins.validation import validate_plugin
    from plugins.validation.corpus import iter_entries

    root = Path(settings.MARKETPLACE_CORPUS_DIR)
    entries = [e for e in iter_entries(root) if e.source.openapi and e.readable_v3]
    entries.sort(key=lambda e: len(e.source.openapi))

    def passing(entry):
        report = validate_plugin(entry.source)
        if report.passed and report.plugin:
            return (entry.slug, report.plugin, report.normalized_openapi, entry.source)
        return None

    # the largest normalised documents come from the largest specs as published
    biggest = [found for e in entries[-TOP:] if (found := passing(e))]
    picks = [("largest", *max(biggest, key=lambda found: len(json.dumps(found[1:3]))))]
    for label, index in (("p90", int(len(entries) * 0.9)), ("median", len(entries) // 2)):
        while index < len(entries) and (found := passing(entries[index])) is None:
            index += 1
        picks.append((label, *found))
    return picks


def bench() -> list[dict]:
    from accounts.models import CredentialKind
    from accounts.services import create_organization, create_user, issue_credential
    from plugins.installations.integrity import documents_digest, pin_problem
    from plugins.installations.models import Installation
    from plugins.installations.selectors import installation_of
    from plugins.installations.services import install_plugin
    from plugins.models import Plugin, PluginVersion, ValidationState
    from plugins.proxy.context import load_context

    owner = create_user(email="pin-bench@example.com", password="correct horse battery")
    organization = create_organization(name="Pin Bench Org", slug="pin-bench-org", owner=owner)
    _, token = issue_credential(
        organization=organization,
        kind=CredentialKind.PERSONAL,
        name="bench",
        created_by=owner,
        user=owner,
    )
    rows = []
    for number, (label, slug, normalized, openapi, source) in enumerate(corpus_picks(), start=1):
        plugin = Plugin.objects.create(organization=organization, slug=f"p{number}", name=slug)
        version = PluginVersion.objects.create(
            organization=organization,
            plugin=plugin,
            number=1,
            source_kind="upload",
            content_sha256=f"{number:064x}",
            normalized=normalized,
            normalized_openapi=openapi,
            # stored as the ingest stores them: a version row carries what was published too
            raw_manifest=source.manifest,
            raw_openapi=source.openapi,
            validation_state=ValidationState.PASSED,
        )
        installation = install_plugin(
            organization=organization, version=version, installed_by=owner
        )
        loaded = installation_of(organization=organization, installation_id=installation.pk)
        stored = PluginVersion.objects.values_list("normalized", "normalized_openapi").get(
            pk=version.pk
        )
        assert pin_problem(loaded) is None
        assert load_context(token, installation.pk, "").policy.pin_problem is None
        size = len(json.dumps(stored))

        def floor(pk=installation.pk):
            Installation.objects.select_related("version").get(pk=pk)

        rows.append(
            {
                "spec": f"{label} ({slug}, {size / 1024:.0f} KiB)",
                "py digest": median_ms(lambda s=stored: documents_digest(*s)),
                "check": median_ms(lambda i=loaded: pin_problem(i)),
                "load_context": median_ms(lambda pk=installation.pk: load_context(token, pk, "")),
                "floor": median_ms(floor),
            }
        )
    return rows


def main() -> None:
    setup_test_environment()
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        rows = bench()
    finally:
        teardown_databases(databases, verbosity=0)
        teardown_test_environment()
    print(f"\n## The pin check and the context load ({connection.vendor}, median of {ROUNDS})\n")
    print("| spec | py digest ms | check ms | load_context ms | floor ms | load_context / floor |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['spec']} | {row['py digest']:.3f} | {row['check']:.3f} | "
            f"{row['load_context']:.3f} | {row['floor']:.3f} | "
            f"{row['load_context'] / row['floor']:.2f} |"
        )


if __name__ == "__main__":
    main()
