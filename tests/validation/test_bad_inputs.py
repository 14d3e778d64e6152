"""Hostile and oversized inputs each give a specific finding, quickly, and never a crash."""

import json
import random
import time

import pytest

from plugins.validation import PluginInput, validate_plugin
from tests.validation.helpers import codes, encode, manifest, operation, spec, validate


def _many_operations(n: int) -> dict:
    return spec(paths={f"/r{i}": {"get": operation(operationId=f"op{i}")} for i in range(n)})


def test_it_refuses_a_50000_operation_spec_quickly():
    # Small operations, so that the document stays under the 5 MB parse limit.
    doc = spec(paths={f"/r{i}": {"get": {"responses": {}}} for i in range(50_000)})
    assert len(encode(doc)) < 5 * 1024 * 1024
    started = time.perf_counter()
    report = validate(spec_doc=doc)
    elapsed = time.perf_counter() - started
    assert "openapi.operations.too_many" in codes(report, "error")
    assert report.plugin is None
    assert elapsed < 60, elapsed  # a hang, not a slow machine: speed is in make bench


def test_it_validates_a_1000_operation_spec_in_bounded_time():
    started = time.perf_counter()
    report = validate(spec_doc=_many_operations(1_000))
    assert report.passed
    assert len(report.plugin["operations"]) == 1_000
    assert time.perf_counter() - started < 90  # a hang, not speed (make bench measures it)


def test_it_never_raises_on_random_garbage():
    rng = random.Random(1234)
    samples = [bytes(rng.randrange(256) for _ in range(rng.randrange(200))) for _ in range(50)]
    samples += [
        b"[]",
        b"null",
        b"{}",
        b'{"openapi": null}',
        b"openapi: [3]",
        b'{"openapi": "3.0.0", "paths": []}',
        b'{"openapi": "3.0.0", "paths": {"/a": {"get": []}}}',
        b'{"openapi": "3.0.0", "paths": {"/a": {"get": {"parameters": 3}}}}',
    ]
    for data in samples:
        for report in (
            validate_plugin(PluginInput(manifest=data, openapi=data)),
            validate_plugin(PluginInput(openapi=data)),
        ):
            assert "internal.error" not in codes(report)
            json.dumps([f.to_dict() for f in report.findings])


def test_it_never_raises_on_odd_types_in_every_manifest_field():
    for key in manifest():
        for value in (None, 1, [], {}, "", True):
            report = validate(manifest(**{key: value}))
            assert "internal.error" not in codes(report), (key, value)


def test_it_never_raises_on_odd_types_in_operations():
    odd = [None, 1, "x", [], {}, [None], {"$ref": 1}, {"$ref": "#/"}]
    for key in (
        "parameters",
        "requestBody",
        "responses",
        "x-output-modules",
        "x-filter",
        "x-few-shot-examples",
        "x-bootstrap",
        "servers",
        "operationId",
    ):
        for value in odd:
            doc = spec(paths={"/a": {"get": operation(**{key: value})}})
            report = validate(spec_doc=doc)
            assert "internal.error" not in codes(report), (key, value)


def test_messages_never_echo_large_excerpts_of_the_input():
    secret = "S3CRET-" + "x" * 500
    op = operation(summary=secret, description=secret)
    op["parameters"][0]["style"] = secret
    report = validate(
        manifest(name_for_model=secret, description_for_human=secret),
        spec(paths={"/a": {"get": op}}),
    )
    for f in report.findings:
        assert len(f.message) < 400, f.code


def test_it_passes_only_local_refs_to_the_strict_validator(monkeypatch):
    from plugins.validation import spec_validator

    seen = []
    real = spec_validator.local_only_copy

    def spy(doc):
        copy = real(doc)
        seen.append(json.dumps(copy))
        return copy

    monkeypatch.setattr(spec_validator, "local_only_copy", spy)
    doc = spec(
        paths={
            "/a": {
                "get": operation(
                    responses={
                        "200": {
                            "description": "x",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "$ref": "http://127.0.0.1:1/x.json",
                                        "$id": "http://127.0.0.1:1/",
                                    }
                                }
                            },
                        }
                    }
                )
            }
        }
    )
    validate(spec_doc=encode(doc))
    assert seen
    assert "127.0.0.1" not in seen[0]


def test_the_strict_validator_itself_refuses_to_fetch_even_if_a_remote_ref_slipped_through(
    monkeypatch,
):
    import socket

    from plugins.validation import spec_validator

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    monkeypatch.setattr(spec_validator, "local_only_copy", lambda doc: doc)
    doc = spec(
        paths={
            "/a": {
                "get": operation(
                    responses={
                        "200": {
                            "description": "x",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": f"http://127.0.0.1:{port}/x.json"}
                                }
                            },
                        },
                        "201": {
                            "description": "x",
                            "content": {
                                "application/json": {"schema": {"$ref": "file:///etc/passwd"}}
                            },
                        },
                    }
                )
            }
        }
    )
    try:
        result = spec_validator._validate(doc, "3.0.1")
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
    assert "root:" not in json.dumps([e.message for e in result.errors])
