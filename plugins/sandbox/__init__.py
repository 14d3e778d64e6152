"""The one Jinja sandbox for plugin templates (x-filter, x-output-modules, x-bootstrap-value).

Contract:

* :func:`check_template` parses and compiles a template without rendering it and returns its
  issues (errors and warnings); it never raises for any source string. The validator uses it.
* :func:`render_template` renders in a separate worker process and returns text, or raises
  :class:`TemplateRejected` with a stable ``code``. A template with a static error is refused
  before it reaches a worker.
* Output is plain text for a model: autoescape is off. Whoever shows it in HTML must escape it.

Layers, each enough to stop a different thing:

1. ``ImmutableSandboxedEnvironment`` (Jinja >= 3.1.6, which blocks the ``str.format`` escapes
   CVE-2024-56326 and CVE-2025-27516): no ``_`` attributes, no mutation of lists or dicts.
2. Nothing is evaluated at compile time. Jinja's optimizer folds constant expressions while
   compiling, so ``{{ 10 ** 10000000 }}`` or ``{{ 'a'|center(999999999) }}`` would run inside
   ``check_template``. The arithmetic operators are intercepted (never folded, and checked by
   :meth:`_Sandbox.call_binop` at run time), the optimizer is off, and ``finalize`` takes the
   context, which stops the compiler folding output expressions (filters included).
3. A static check refuses dunder and interpreter-internal names (``__class__``, ``gi_frame``),
   ``|attr`` tricks and format strings reaching ``_`` fields, with a line number, plus
   includes/imports (there is no loader). ``x._name`` is only a warning: the sandbox blocks
   private attributes but data keys like ``_links``/``_id`` are legitimate.
4. Rendering happens in a pre-started worker process (``python -I`` running this file) with an
   address-space limit, a CPU-time limit and no secrets in its environment; the parent kills it
   when the deadline passes. Output is streamed and cut off past the cap. This bounds what the
   first layers cannot: ``~`` concatenation in loops, ``|center``/``|replace``/``.format`` width
   tricks, deep recursion. The price: a process per concurrent render (up to MAX_WORKERS, ~25 MB
   each, ~0.1 s to start once) and a JSON round trip per render, measured at ~50 us plus ~7 ms
   per MB of context (``python -m tests.sandbox.bench_render``).

Context values cross to the worker as JSON: pass plain data (dicts, lists, strings, numbers);
anything else is sent as ``str(value)``. Non-string dict keys become strings.
"""

from plugins.sandbox.checks import check_template
from plugins.sandbox.errors import TemplateIssue, TemplateRejected
from plugins.sandbox.limits import MAX_TEMPLATE_CHARS, MAX_WORKERS
from plugins.sandbox.render import render_template

__all__ = [
    "MAX_TEMPLATE_CHARS",
    "MAX_WORKERS",
    "TemplateIssue",
    "TemplateRejected",
    "check_template",
    "render_template",
]
