"""The whole corpus: every entry gets a report, nothing raises, and every approved store plugin
whose spec is a readable OpenAPI 3 document passes (OpenAI approved them)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from plugins.validation.corpus import STORE, iter_entries, run_corpus

# The whole corpus takes a minute or more on a loaded machine: its timing is `make bench`'s.
pytestmark = [pytest.mark.corpus, pytest.mark.timeout(900)]

CORPUS = Path(settings.MARKETPLACE_CORPUS_DIR)


@pytest.fixture(scope="module")
def outcome():
    if not (CORPUS / "SOURCES.tsv").exists():
        pytest.skip(f"corpus not found at {CORPUS} (settings.MARKETPLACE_CORPUS_DIR)")
    started = time.perf_counter()
    result = run_corpus(iter_entries(CORPUS))
    print(f"\ncorpus: {len(result.results)} entries in {time.perf_counter() - started:.1f}s")
    return result


def test_every_entry_gets_a_report_and_nothing_raises(outcome):
    directories = [p for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(outcome.results) == len(directories)
    internal = [
        (r.entry.slug, f.message)
        for r in outcome.results
        for f in r.report.findings
        if f.code == "internal.error"
    ]
    assert internal == []


def test_every_readable_store_plugin_passes(outcome):
    readable = outcome.store_readable
    assert len(readable) > 700
    failing = {
        r.entry.slug: sorted({f.code for f in r.report.errors})
        for r in readable
        if not r.report.passed
    }
    assert failing == {}
    assert (
        outcome.bar_line() == f"store-archive: {len(readable)} of {len(readable)} readable passed"
    )


def test_every_readable_store_plugin_has_a_serialisable_model(outcome):
    for r in outcome.store_readable:
        assert r.report.plugin is not None, r.entry.slug
        assert r.report.plugin["operations"], r.entry.slug
        json.dumps(r.report.plugin)
        json.dumps(r.report.normalized_openapi)


def test_unreadable_store_specs_fail_with_a_document_or_version_error(outcome):
    for r in outcome.results:
        if r.entry.kind == STORE and not r.entry.readable_v3:
            codes = {f.code for f in r.report.errors}
            assert codes & {
                "openapi.missing",
                "openapi.version.missing",
                "openapi.version.unsupported",
                "openapi.paths.missing",
            } or any(c.startswith("document.") for c in codes), (r.entry.slug, codes)


def test_no_corpus_entry_hangs(outcome):
    # A hang guard with room for a loaded 2-core machine; speed is measured by `make bench`.
    assert max(r.seconds for r in outcome.results) < 60


def test_the_validator_finds_exactly_what_it_found_before_it_was_made_faster():
    """tests/validation/corpus_findings.tsv (see corpus_findings.py), under the hash seed it was
    written with, in a process of its own."""
    if not (CORPUS / "SOURCES.tsv").exists():
        pytest.skip(f"corpus not found at {CORPUS} (settings.MARKETPLACE_CORPUS_DIR)")
    result = subprocess.run(
        [sys.executable, "-m", "tests.validation.corpus_findings", "--check"],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert result.stdout.strip().endswith("entries: the same findings")
