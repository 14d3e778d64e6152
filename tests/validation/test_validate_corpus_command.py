"""`python manage.py validate_corpus DIR` over a small corpus made by the test."""

import io
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

CORPUS = Path(settings.MARKETPLACE_CORPUS_DIR)
ENTRIES = [
    "store-www-klarna-com-klarnaproducts",
    "store-afinchat-chengdoujiang-cn-afinchat",
    "store-plugin-daizy-com-daizy",
    "gh-openai-plugins-quickstart-todo",
]


def test_it_writes_the_report_and_prints_the_store_bar_last(tmp_path):
    if not all((CORPUS / slug).is_dir() for slug in ENTRIES):
        pytest.skip(f"corpus entries not found under {CORPUS}")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for slug in ENTRIES:
        shutil.copytree(CORPUS / slug, corpus / slug)
    rows = [
        line
        for line in (CORPUS / "SOURCES.tsv").read_text().splitlines()
        if line.split("\t", 1)[0] in ("slug", *ENTRIES)
    ]
    (corpus / "SOURCES.tsv").write_text("\n".join(rows) + "\n")
    report = tmp_path / "report.md"
    out = io.StringIO()

    call_command("validate_corpus", str(corpus), "--report", str(report), stdout=out)

    assert out.getvalue().splitlines()[-1] == "store-archive: 2 of 2 readable passed"
    text = report.read_text()
    assert "## Findings per code" in text
    assert "store-afinchat-chengdoujiang-cn-afinchat" in text  # fails: its spec is an HTML page
    assert "`document.html`" in text
