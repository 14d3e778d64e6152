"""Sandbox render overhead: `python -m tests.sandbox.bench_render`. Not collected by pytest.

Compares render_template (worker process, JSON round trip) with rendering the same compiled
template in-process, and prints the median of each and their ratio.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from plugins.sandbox import render_template
from plugins.sandbox.environment import SandboxEnvironment

ITEMS = [{"name": f"item {i}", "price": i * 1.5, "note": "x" * 50} for i in range(100)]
BIG = {"items": [{"name": f"item {i}", "price": i, "note": "y" * 200} for i in range(4000)]}
CASES = [
    ("x-bootstrap-value", "{{ auth.token }}", {"auth": {"token": "tok_123"}}),
    (
        "x-filter, 100 items (~10 KB context)",
        "{% for i in response['items'] %}{{ i.name }}: {{ i.price }}\n{% endfor %}",
        {"response": {"items": ITEMS}},
    ),
    (
        "x-filter, 5 of 4,000 items (~1 MB context)",
        "{% for i in response['items'][:5] %}{{ i.name }}\n{% endfor %}",
        {"response": BIG},
    ),
]


def median_seconds(function: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    environment = SandboxEnvironment(strict=True)
    print("| case | in-process | worker | ratio |\n|---|---|---|---|")
    for label, source, context in CASES:
        template = environment.from_string(source)
        runs = 30 if "1 MB" in label else 300
        render_template(source, context)  # start a worker, fill the caches
        local = median_seconds(lambda t=template, c=context: "".join(t.generate(c)), runs)
        worker = median_seconds(lambda s=source, c=context: render_template(s, c), runs)
        ratio = worker / local
        print(f"| {label} | {local * 1e6:,.0f} µs | {worker * 1e6:,.0f} µs | {ratio:.1f}x |")


if __name__ == "__main__":
    main()
