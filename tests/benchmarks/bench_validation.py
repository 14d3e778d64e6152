"""Validation cost, measured: `python -m tests.benchmarks.bench_validation` (or `make bench`).

For the median corpus plugin, the largest corpus spec, a synthetic 1,000-operation spec, and
the whole corpus (one process), it prints a markdown table of validation time (median of N
runs) and peak memory (tracemalloc), each also as a ratio against plainly parsing the same
documents (`json.loads`, or PyYAML's C safe loader for YAML) in the same run: "validation
costs N x parsing". It also shows how much of the time the strict openapi-spec-validator pass
takes. Not collected by pytest.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import yaml

from plugins.validation import PluginInput, spec_validator, validate_plugin
from plugins.validation.corpus import Entry, iter_entries

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def corpus_dir() -> Path:
    if os.environ.get("MARKETPLACE_CORPUS_DIR"):
        return Path(os.environ["MARKETPLACE_CORPUS_DIR"])
    try:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
        from django.conf import settings

        return Path(settings.MARKETPLACE_CORPUS_DIR)
    except Exception:
        return Path(__file__).resolve().parents[3] / "shared" / "corpus"


def plain_parse(data: bytes | None) -> object:
    if not data:
        return None
    text = data.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        try:
            return yaml.load(text, Loader=YAML_LOADER)
        except yaml.YAMLError:
            return None


def timed(func: Callable[[], object], repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        func()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def peak_memory(func: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def synthetic_spec(operations: int = 1_000) -> bytes:
    paths = {}
    for i in range(operations):
        paths[f"/items{i}/{{id}}"] = {
            "get": {
                "operationId": f"getItem{i}",
                "summary": f"Get item {i}",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Item"}}
                        },
                    }
                },
            }
        }
    spec = {
        "openapi": "3.0.1",
        "info": {"title": "Synthetic", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": paths,
        "components": {
            "schemas": {
                "Item": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "children": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Item"},
                        },
                    },
                }
            }
        },
    }
    return json.dumps(spec).encode()


def _strict_seconds(source: PluginInput, repeats: int) -> float:
    normalized = validate_plugin(source).normalized_openapi
    if not normalized:
        return 0.0
    return timed(lambda: spec_validator._validate(normalized, normalized["openapi"]), repeats)


def measure_case(name: str, source: PluginInput, repeats: int) -> dict:
    def validate():
        spec_validator.clear_cache()  # measure the full cost, not a cache hit
        return validate_plugin(source)

    def parse():
        plain_parse(source.manifest)
        plain_parse(source.openapi)

    size = len(source.openapi or b"") + len(source.manifest or b"")
    return {
        "case": name,
        "size": size,
        "validate_s": timed(validate, repeats),
        "parse_s": timed(parse, repeats),
        "validate_mem": peak_memory(validate),
        "parse_mem": peak_memory(parse),
        "strict_s": _strict_seconds(source, repeats),
    }


def measure_corpus(entries: list[Entry]) -> dict:
    def validate_all():
        spec_validator.clear_cache()
        for entry in entries:
            validate_plugin(entry.source)

    def parse_all():
        for entry in entries:
            plain_parse(entry.source.manifest)
            plain_parse(entry.source.openapi)

    validate_s = timed(validate_all, 1)
    parse_s = timed(parse_all, 1)
    return {"entries": len(entries), "validate_s": validate_s, "parse_s": parse_s}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _mb(size: int) -> str:
    return f"{size / 1e6:.2f} MB"


def render(cases: list[dict], corpus: dict) -> str:
    lines = [
        "| case | document bytes | validate (median) | parse | time x parse | strict pass "
        "| peak mem validate | peak mem parse | mem x parse |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cases:
        lines.append(
            f"| {c['case']} | {c['size']:,} | {_ms(c['validate_s'])} | {_ms(c['parse_s'])} | "
            f"{c['validate_s'] / max(c['parse_s'], 1e-9):.1f}x | "
            f"{_ms(c['strict_s'])} ({c['strict_s'] / max(c['validate_s'], 1e-9):.0%}) | "
            f"{_mb(c['validate_mem'])} | {_mb(c['parse_mem'])} | "
            f"{c['validate_mem'] / max(c['parse_mem'], 1):.1f}x |"
        )
    n, v, p = corpus["entries"], corpus["validate_s"], corpus["parse_s"]
    lines += [
        "",
        "| whole corpus (one process) | entries | validate | plugins/s | parse | time x parse |",
        "|---|---:|---:|---:|---:|---:|",
        f"| all entries | {n} | {v:.1f} s | {n / max(v, 1e-9):.0f} | {p:.1f} s | "
        f"{v / max(p, 1e-9):.1f}x |",
    ]
    return "\n".join(lines)


def main() -> int:
    root = corpus_dir()
    if not (root / "SOURCES.tsv").exists():
        print(f"corpus not found at {root}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    entries = list(iter_entries(root))
    readable = sorted((e for e in entries if e.readable_v3), key=lambda e: len(e.source.openapi))
    median = readable[len(readable) // 2]
    largest = readable[-1]
    synthetic = PluginInput(openapi=synthetic_spec(1_000), origin="api.example.com")
    cases = [
        measure_case(f"median corpus plugin ({median.slug})", median.source, 15),
        measure_case(f"largest corpus spec ({largest.slug})", largest.source, 5),
        measure_case("synthetic 1,000-operation spec", synthetic, 3),
    ]
    corpus = measure_corpus(entries)
    print(render(cases, corpus))
    print(
        f"\n(benchmark ran in {time.perf_counter() - started:.0f} s; Python "
        f"{sys.version.split()[0]}; {os.cpu_count()} CPUs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
