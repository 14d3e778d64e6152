"""Every real manifest and spec in the corpus parses to a mapping or fails with a DocumentError."""

from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from plugins.validation.parsing import (
    MANIFEST_MAX_BYTES,
    SPEC_MAX_BYTES,
    DocumentError,
    parse_document,
)


def corpus_files() -> list[Path]:
    root = Path(settings.MARKETPLACE_CORPUS_DIR)
    if not root.is_dir():
        return []
    return sorted(
        path
        for path in root.glob("*/*")
        if path.name == "ai-plugin.json" or path.name.startswith("openapi.")
    )


@pytest.mark.corpus
@pytest.mark.timeout(120)
def test_it_parses_every_corpus_document_or_refuses_it_cleanly():
    files = corpus_files()
    if not files:
        pytest.skip(f"no corpus at MARKETPLACE_CORPUS_DIR={settings.MARKETPLACE_CORPUS_DIR}")
    outcomes = Counter(outcome(path) for path in files)
    assert all(code == "ok" or code.startswith("document.") for code in outcomes), outcomes
    # Most of the corpus is readable; the README counts ~60 HTML or unreadable specs.
    assert outcomes["ok"] > 0.9 * len(files), outcomes
    assert outcomes["document.html"] > 0, outcomes


def outcome(path: Path) -> str:
    """The DocumentError code, or "ok" for a mapping; any other exception propagates."""
    limit = MANIFEST_MAX_BYTES if path.name == "ai-plugin.json" else SPEC_MAX_BYTES
    try:
        result = parse_document(path.read_bytes(), max_bytes=limit)
    except DocumentError as error:
        return error.code
    assert isinstance(result, dict), path
    return "ok"
