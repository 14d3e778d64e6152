"""parse_document: untrusted bytes in, JSON-compatible data or a DocumentError out."""

import codecs
import json

import pytest

from plugins.validation.parsing import (
    MAX_NESTING,
    SPEC_MAX_BYTES,
    DocumentError,
    parse_document,
)


def refused(data, **kwargs) -> DocumentError:
    with pytest.raises(DocumentError) as info:
        parse_document(data, **kwargs)
    return info.value


# --- hostile documents ------------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_it_refuses_a_billion_laughs_alias_bomb():
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    error = refused("\n".join(lines).encode())
    assert error.code == "document.yaml_bomb"
    assert error.line is not None


@pytest.mark.timeout(10)
def test_it_refuses_a_merge_key_bomb():
    # Exponential in PyYAML's flatten_mapping before 6.0.3 (each level merges the previous twice).
    lines = ["l0: &l0 {a: 1, b: 2}"]
    lines += [f"l{i}: &l{i} {{<<: [*l{i - 1}, *l{i - 1}], k{i}: {i}}}" for i in range(1, 40)]
    assert refused("\n".join(lines).encode()).code == "document.yaml_bomb"


@pytest.mark.timeout(10)
def test_it_refuses_aliases_that_repeat_a_large_string():
    text = b"s: &s '" + b"x" * 1_000_000 + b"'\nl: [" + b", ".join([b"*s"] * 100) + b"]"
    assert refused(text).code == "document.yaml_bomb"


def test_it_refuses_a_recursive_alias():
    assert refused(b"a: &a [1, *a]").code == "document.yaml_bomb"


@pytest.mark.timeout(10)
def test_it_refuses_json_nested_10000_deep():
    assert refused(b"[" * 10_000 + b"]" * 10_000).code == "document.too_deep"
    assert refused(b'{"a":' * 10_000 + b"1" + b"}" * 10_000).code == "document.too_deep"


def test_it_accepts_json_at_the_nesting_limit_and_not_one_deeper():
    at_limit = b'{"a":' + b"[" * (MAX_NESTING - 1) + b"]" * (MAX_NESTING - 1) + b"}"
    assert isinstance(parse_document(at_limit), dict)
    over = b'{"a":' + b"[" * MAX_NESTING + b"]" * MAX_NESTING + b"}"
    assert refused(over).code == "document.too_deep"


def test_it_ignores_brackets_inside_json_strings_when_measuring_depth():
    text = json.dumps({"pattern": "[" * 1000 + '\\"{' * 500}).encode()
    assert parse_document(text)["pattern"].startswith("[[[")


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "text",
    [
        b"a: " + b"[" * 10_000 + b"]" * 10_000,  # flow
        b"a:\n" + b"".join(b"  " * i + b"- k:\n" for i in range(1, 400)) + b"  " * 400 + b"x",
        b"- " * 10_000 + b"x",  # compact block sequences on one line
        b"a: " + b"[" * 300,  # unterminated, but too deep before it is invalid
    ],
    ids=["flow", "block", "compact", "unterminated"],
)
def test_it_refuses_deeply_nested_yaml(text):
    assert refused(text).code == "document.too_deep"


def test_it_refuses_python_tags():
    error = refused(b"a: !!python/object/apply:os.system ['touch /tmp/pwned']")
    assert error.code == "document.invalid_yaml"
    assert error.line == 1


def test_it_refuses_input_over_max_bytes_before_reading_it():
    error = refused(b"a" * (SPEC_MAX_BYTES + 1))
    assert error.code == "document.too_large"
    assert refused(b'{"a": 1}', max_bytes=7).code == "document.too_large"
    assert parse_document(b'{"a": 1}', max_bytes=8) == {"a": 1}


# --- encodings and non-documents ---------------------------------------------------------------


def test_it_refuses_invalid_utf8_with_the_line():
    error = refused(b"openapi: 3.0.0\ninfo:\n  title: caf\xe9\n")
    assert error.code == "document.not_utf8"
    assert error.line == 3


def test_it_refuses_utf16_without_a_byte_order_mark():
    assert refused('{"a": 1}'.encode("utf-16-le")).code == "document.not_utf8"


@pytest.mark.parametrize(
    "encoded",
    [
        codecs.BOM_UTF8 + "openapi: 3.0.0\ntitle: café".encode(),
        "openapi: 3.0.0\ntitle: café".encode("utf-16"),
        "openapi: 3.0.0\ntitle: café".encode("utf-32"),
    ],
    ids=["utf-8-bom", "utf-16-bom", "utf-32-bom"],
)
def test_it_decodes_byte_order_marks(encoded):
    assert parse_document(encoded) == {"openapi": "3.0.0", "title": "café"}


@pytest.mark.parametrize(
    "page",
    [
        b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head></html>",
        b"\n  <html lang='en'><body>Sign in</body></html>",
        b"<HEAD><TITLE>Error</TITLE></HEAD>",
        b"<!-- cached -->\n<!doctype html><html></html>",
    ],
)
def test_it_recognises_an_html_error_page(page):
    error = refused(page)
    assert error.code == "document.html"
    assert error.hint == "the server returned an HTML page, probably an error or login page"


def test_it_trusts_content_type_html_only_when_the_body_starts_with_a_tag():
    assert refused(b"<div>Forbidden</div>", content_type="text/html; charset=utf-8").code == (
        "document.html"
    )
    assert parse_document(b'{"openapi": "3.0.0"}', content_type="text/html") == {"openapi": "3.0.0"}


@pytest.mark.parametrize("blank", [b"", b"   \n\t\n", codecs.BOM_UTF8, b"# just a comment\n"])
def test_it_refuses_an_empty_document(blank):
    assert refused(blank).code == "document.empty"


def test_it_refuses_a_top_level_array_unless_told_otherwise():
    assert refused(b"[1, 2]").code == "document.not_a_mapping"
    assert parse_document(b"[1, 2]", expect_mapping=False) == [1, 2]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (b"Not Found \xe2\x80\xae" + b"x" * 100_000, "document.not_a_mapping"),
        (b"<html>\x1b[31m\xe2\x80\xae" + b"x" * 100_000, "document.html"),
    ],
)
def test_it_quotes_only_a_short_escaped_excerpt_of_what_it_refuses(text, code):
    error = refused(text)
    assert error.code == code
    assert len(error.message) < 200
    assert "\x1b" not in error.message
    assert "\u202e" not in error.message
    assert "\\u202e" in error.message


# --- JSON ---------------------------------------------------------------------------------------


def test_it_reports_invalid_json_with_the_line():
    error = refused(b'{\n  "a": 1,\n  "b": [1, 2\n}')
    assert error.code == "document.invalid_json"
    assert error.line == 4


def test_it_reads_json_that_is_really_yaml_flow_style():
    assert parse_document(b"{openapi: 3.0.0, info: {title: T,},}") == {
        "openapi": "3.0.0",
        "info": {"title": "T"},
    }


@pytest.mark.parametrize("text", [b'{"a": NaN}', b'{"a": -Infinity}', b'{"a": 1e400}'])
def test_it_refuses_json_numbers_that_are_not_json(text):
    assert refused(text).code == "document.invalid_json"


def test_it_refuses_a_json_integer_too_long_to_convert():
    assert refused(b'{"a": ' + b"9" * 5000 + b"}").code == "document.invalid_json"


def test_it_keeps_the_last_of_duplicate_keys():
    assert parse_document(b'{"a": 1, "a": 2}') == {"a": 2}
    assert parse_document(b"a: 1\na: 2\n") == {"a": 2}


def test_it_replaces_characters_postgres_cannot_store():
    # Seen in an approved store spec: "example": "\u0000Geth/v1.0.0-0cdc7647/linux/go1.4"
    data = parse_document(b'{"example": "\\u0000Geth", "\\ud800": "\\ud83d\\ude00"}')
    assert data == {"example": "\ufffdGeth", "\ufffd": "\U0001f600"}
    assert parse_document(b'a: "\\0b"') == {"a": "\ufffdb"}


# --- YAML values --------------------------------------------------------------------------------


def test_it_keeps_an_unquoted_openapi_version_as_a_number():
    assert parse_document(b"openapi: 3.1\ninfo: {version: 1.10}\n") == {
        "openapi": 3.1,
        "info": {"version": 1.1},
    }


def test_it_stringifies_non_string_keys_as_written():
    data = parse_document(b"responses:\n  200: {description: ok}\n  0x1F: hex\n  true: yes\n")
    assert data == {"responses": {"200": {"description": "ok"}, "0x1F": "hex", "true": "yes"}}


def test_it_refuses_keys_that_are_collections():
    assert refused(b"? [a, b]\n: c\n").code == "document.invalid_yaml"


def test_its_output_is_json_serialisable():
    text = (
        b"date: 2024-01-01\n"
        b"stamp: !!timestamp 2001-12-14 21:59:43.10 -5\n"
        b"day: !!timestamp 2024-02-29\n"
        b"blob: !!binary aGVsbG8=\n"
        b"set: !!set {a, b}\n"
        b"pairs: !!omap [{x: 1}, {y: 2}]\n"
        b"nan: .nan\n"
        b"inf: -.inf\n"
        b"huge: 1.0e+999\n"
    )
    data = parse_document(text)
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["date"] == "2024-01-01"
    assert data["stamp"] == "2001-12-14T21:59:43.100000-05:00"
    assert data["day"] == "2024-02-29"
    assert data["blob"] == "aGVsbG8="
    assert data["set"] == ["a", "b"]
    assert data["pairs"] == [["x", 1], ["y", 2]]
    assert (data["nan"], data["inf"], data["huge"]) == (".nan", "-.inf", "1.0e+999")


def test_it_uses_the_yaml_1_2_core_schema():
    data = parse_document(
        b"country: NO\nanswer: yes\nswitch: off\ntime: 12:30\noctal: 0123\nhex: 0x1A\n"
        b"sci: 1e3\nflag: true\nnothing: null\ntilde: ~\nversion: 3.0.0\nop: =\n"
    )
    assert data == {
        "country": "NO",
        "answer": "yes",
        "switch": "off",
        "time": "12:30",
        "octal": 123,
        "hex": 26,
        "sci": 1000.0,
        "flag": True,
        "nothing": None,
        "tilde": None,
        "version": "3.0.0",
        "op": "=",
    }


def test_it_parses_modest_anchors_and_merge_keys():
    text = b"""
components:
  schemas:
    base: &base
      type: object
      properties: &props
        id: {type: integer}
    pet:
      <<: *base
      description: a pet
    owner:
      <<: [*base]
      properties:
        <<: *props
        name: {type: string}
    again: *base
"""
    schemas = parse_document(text)["components"]["schemas"]
    assert schemas["pet"] == {
        "type": "object",
        "properties": {"id": {"type": "integer"}},
        "description": "a pet",
    }
    assert schemas["owner"]["properties"] == {
        "id": {"type": "integer"},
        "name": {"type": "string"},
    }
    assert schemas["again"] == schemas["base"]


@pytest.mark.parametrize(
    "text",
    [b"!!bool maybe", b"a: !!timestamp tomorrow", b"a: " + b"9" * 5000, b"a: !!int [1]"],
)
def test_it_reports_values_it_cannot_convert_as_invalid_yaml(text):
    error = refused(text, expect_mapping=False)
    assert error.code == "document.invalid_yaml"
    assert error.line == 1


def test_it_reports_invalid_yaml_with_the_line():
    error = refused(b"openapi: 3.0.0\ninfo:\n  title: a\n   bad: [\n")
    assert error.code == "document.invalid_yaml"
    assert error.line is not None


def test_it_refuses_more_than_one_yaml_document():
    assert refused(b"a: 1\n---\nb: 2\n").code == "document.invalid_yaml"
