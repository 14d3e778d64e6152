"""YAML without aliases is composed by libyaml (the fast path); the bounded composer still
decides every document the fast path declines, so both always give the same answer."""

from pathlib import Path

import pytest
from django.conf import settings

from plugins.validation import parsing
from plugins.validation.parsing import MAX_NESTING, DocumentError, parse_document


def both_paths(text: str):
    return parsing._parse_plain_yaml(text), parsing._parse_bounded_yaml(text)


def test_a_plain_document_takes_the_fast_path_with_the_bounded_paths_result():
    text = (
        "openapi: 3.0.1\ninfo: {title: T, version: '1'}\npaths:\n  /a: {get: {}}\nx: [NO, 0o17]\n"
    )

    plain, bounded = both_paths(text)

    assert plain is not parsing._NOT_PLAIN
    assert plain == bounded
    assert plain["x"] == ["NO", 15]  # the YAML 1.2 core schema, as on the bounded path


@pytest.mark.parametrize(
    "text",
    [
        "a: &x {b: 1}\nc: *x\n",  # an alias: the bounded path counts its expansion
        "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",  # a merge key through an alias
        "a: &a [*a]\n",  # recursive
        "a: " + "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1) + "\n",  # too deep
        "a: [1\n",  # invalid
        "a: !!python/name:os.system x\n",  # a tag the constructor refuses
    ],
    ids=["alias", "merge", "recursive", "too-deep", "invalid", "python-tag"],
)
def test_the_fast_path_declines_what_needs_the_bounds_or_fails(text):
    assert parsing._parse_plain_yaml(text) is parsing._NOT_PLAIN


def test_a_document_over_the_node_bound_is_refused_as_before(monkeypatch):
    monkeypatch.setattr(parsing, "MAX_YAML_NODES", 50)
    text = "items:\n" + "".join(f"  - {i}\n" for i in range(60))

    assert parsing._parse_plain_yaml(text) is parsing._NOT_PLAIN
    with pytest.raises(DocumentError) as refused:
        parse_document(text.encode())
    assert refused.value.code == "document.too_large"


@pytest.mark.corpus
@pytest.mark.timeout(300)
def test_both_paths_agree_on_every_yaml_spec_of_the_corpus():
    root = Path(settings.MARKETPLACE_CORPUS_DIR)
    files = sorted(p for p in root.glob("*/openapi.*") if p.suffix in (".yaml", ".yml"))
    if not files:
        pytest.skip(f"no corpus at MARKETPLACE_CORPUS_DIR={settings.MARKETPLACE_CORPUS_DIR}")
    fast = 0
    for path in files:
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue
        plain = parsing._parse_plain_yaml(text)
        try:
            bounded = parsing._parse_bounded_yaml(text)
        except DocumentError:
            assert plain is parsing._NOT_PLAIN, path
            continue
        if plain is not parsing._NOT_PLAIN:
            fast += 1
            assert plain == bounded, path
    assert fast > 0.8 * len(files)
