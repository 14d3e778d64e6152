"""The house rules: each rule has one home, and this test keeps it so.

It reads every non-test module of the project (its AST, never a grep) and fails, naming file
and line, when
- anything but ``plugins/outbound/`` imports an HTTP client or socket library;
- anything but ``plugins/vault/`` imports a cipher (cryptography's ciphers/AEAD, Fernet, …);
- anything but ``plugins/sandbox/`` imports jinja2;
- the pure cores (``plugins/validation/``, ``plugins/tools/``) import Django, DRF, Celery, the
  outbound client or any part of the product other than each other and the sandbox;
- ``accounts/`` imports from ``plugins/``;
- two project modules import each other, directly or round a longer circle. Imports inside
  functions count (they still run); imports under ``if TYPE_CHECKING:`` don't (they never run).

Infrastructure connections are named exceptions: the database driver, Redis, the Celery broker
and SMTP are reached through their own libraries, which this test doesn't forbid anywhere.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("marketplace", "accounts", "plugins")

HTTP_AND_SOCKET_LIBRARIES = (
    "requests",
    "httpx",
    "httpcore",
    "aiohttp",
    "urllib3",
    "urllib.request",
    "http.client",
    "socket",
    "ssl",
    "asyncio.open_connection",
    "websockets",
    "pycurl",
)
CIPHER_LIBRARIES = (
    "cryptography.hazmat.primitives.ciphers",  # AES, ChaCha20 and .aead (AESGCM, …)
    "cryptography.fernet",
    "Crypto.Cipher",
    "Cryptodome.Cipher",
    "nacl.secret",
)
TEMPLATE_LIBRARIES = ("jinja2",)
FRAMEWORKS = ("django", "rest_framework", "celery", "kombu", "drf_spectacular")
# Reached through their own client libraries by design; named here so nobody wonders.
INFRASTRUCTURE = ("psycopg", "psycopg_pool", "redis", "smtplib", "kombu", "celery")

PURE_CORES = ("plugins.validation", "plugins.tools")
PURE_MAY_IMPORT = ("plugins.validation", "plugins.tools", "plugins.sandbox")


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    path: Path
    line: int
    target: str  # dotted name as imported (module, or module.attribute)
    runtime: bool  # False under `if TYPE_CHECKING:`


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.detail}"


# --- reading the tree ----------------------------------------------------------------------------


def project_modules(root: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of the project's packages (tests excluded)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imports_of(name: str, path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    type_checking_lines = _type_checking_lines(tree)
    for node in ast.walk(tree):
        runtime = node.lineno not in type_checking_lines if hasattr(node, "lineno") else True
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, path, node.lineno, alias.name, runtime)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(name, is_package, node.module, node.level)
            for alias in node.names:
                target = base if alias.name == "*" else f"{base}.{alias.name}"
                yield Import(name, path, node.lineno, target, runtime)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node):
            argument = node.args[0] if node.args else None
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                yield Import(name, path, node.lineno, argument.value, runtime)


def _absolute(importer: str, is_package: bool, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    parts = importer.split(".")
    if not is_package:
        parts.pop()
    parts = parts[: len(parts) - (level - 1)]
    return ".".join([*parts, module] if module else parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        ):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _is_dynamic_import(node: ast.Call) -> bool:
    func = ast.unparse(node.func)
    return func in ("importlib.import_module", "import_module", "__import__")


def _matches(target: str, prefixes: tuple[str, ...]) -> str | None:
    for prefix in prefixes:
        if target == prefix or target.startswith(prefix + "."):
            return prefix
    return None


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _project_target(target: str, modules: dict[str, Path]) -> str | None:
    """The project module an import reaches: `a.b.c` is module a.b.c, or attribute c of a.b."""
    while target:
        if target in modules:
            return target
        target = target.rpartition(".")[0]
    return None


# --- the rules -----------------------------------------------------------------------------------


def check_tree(root: Path) -> list[Violation]:
    modules = project_modules(root)
    all_imports = [imp for name, path in modules.items() for imp in imports_of(name, path)]
    violations = [v for imp in all_imports for v in _rules_for(imp, root)]
    violations.extend(_cycles(all_imports, modules, root))
    return violations


def _rules_for(imp: Import, root: Path) -> Iterator[Violation]:
    where = str(imp.path.relative_to(root))

    def violation(rule: str, detail: str) -> Violation:
        return Violation(where, imp.line, rule, detail)

    if (lib := _matches(imp.target, HTTP_AND_SOCKET_LIBRARIES)) and not _inside(
        imp.importer, "plugins.outbound"
    ):
        yield violation("outbound", f"imports {lib}; only plugins/outbound/ may talk HTTP")
    if (lib := _matches(imp.target, CIPHER_LIBRARIES)) and not _inside(
        imp.importer, "plugins.vault"
    ):
        yield violation("vault", f"imports {lib}; only plugins/vault/ may use a cipher")
    if (lib := _matches(imp.target, TEMPLATE_LIBRARIES)) and not _inside(
        imp.importer, "plugins.sandbox"
    ):
        yield violation("sandbox", f"imports {lib}; only plugins/sandbox/ may use jinja2")
    if any(_inside(imp.importer, core) for core in PURE_CORES) and imp.runtime:
        if lib := _matches(imp.target, FRAMEWORKS):
            yield violation("pure core", f"imports {lib}; validation and tools stay pure")
        elif _matches(imp.target, PACKAGES) and not _matches(imp.target, PURE_MAY_IMPORT):
            yield violation("pure core", f"imports {imp.target}; validation and tools stay pure")
    if _inside(imp.importer, "accounts") and _matches(imp.target, ("plugins",)):
        yield violation("accounts", f"imports {imp.target}; accounts/ never depends on plugins/")


def _cycles(imports: list[Import], modules: dict[str, Path], root: Path) -> Iterator[Violation]:
    graph: dict[str, dict[str, Import]] = {name: {} for name in modules}
    for imp in imports:
        target = _project_target(imp.target, modules)
        if imp.runtime and target and target != imp.importer:
            graph[imp.importer].setdefault(target, imp)
    for component in _strongly_connected(graph):
        if len(component) < 2:
            continue
        members = sorted(component)
        first = graph[members[0]]
        edge = next(imp for target, imp in sorted(first.items()) if target in component)
        yield Violation(
            str(edge.path.relative_to(root)),
            edge.line,
            "cycle",
            "import cycle between " + ", ".join(members),
        )


def _strongly_connected(graph: dict[str, dict[str, Import]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the graph has hundreds of modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


# --- the tests -----------------------------------------------------------------------------------


def test_the_project_keeps_the_house_rules():
    violations = check_tree(ROOT)
    assert not violations, "house rules broken:\n" + "\n".join(map(str, violations))


def test_it_reads_every_package_of_the_project():
    modules = project_modules(ROOT)
    for expected in (
        "plugins.outbound.client",
        "plugins.sandbox.render",
        "plugins.validation.core",
        "plugins.ingest.run",
        "accounts.tenancy",
        "marketplace.settings",
    ):
        assert expected in modules
    assert len(modules) > 100


PLANTED = {
    "plugins/__init__.py": "",
    "plugins/registration.py": "import httpx\n\nx = 1\n",
    "plugins/outbound/__init__.py": "import httpx\nimport socket\n",
    "plugins/views.py": "def view():\n    from urllib.request import urlopen\n",
    "plugins/credentials/__init__.py": (
        "from cryptography.hazmat.primitives.ciphers.aead import AESGCM\n"
    ),
    "plugins/vault/__init__.py": "from cryptography.hazmat.primitives.ciphers.aead import AESGCM\n",
    "plugins/proxy/filters.py": "import jinja2\n",
    "plugins/sandbox/__init__.py": "import jinja2\n",
    "plugins/validation/__init__.py": "",
    "plugins/validation/core.py": (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from django.db import models\n"
        "from plugins.sandbox import check_template\n"
        "from django.conf import settings\n"
    ),
    "plugins/tools/__init__.py": "from plugins.outbound import fetch\n",
    "plugins/tools/render.py": "from ..models import Plugin\n",
    "plugins/models.py": "",
    "accounts/__init__.py": "",
    "accounts/services.py": "import smtplib\nimport redis\nfrom plugins.models import Plugin\n",
    "marketplace/__init__.py": "",
    "marketplace/a.py": "def f():\n    from marketplace import b\n",
    "marketplace/b.py": "from marketplace.c import thing\n",
    "marketplace/c.py": "import marketplace.a\nthing = 1\n",
    "marketplace/d.py": (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import marketplace.e\n"
    ),
    "marketplace/e.py": "import marketplace.d\n",
}


@pytest.fixture
def planted_tree(tmp_path):
    for relative, source in PLANTED.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return tmp_path


def test_it_names_file_line_and_rule_for_each_planted_violation(planted_tree):
    found = {(v.path, v.line, v.rule) for v in check_tree(planted_tree)}
    assert found == {
        ("plugins/registration.py", 1, "outbound"),
        ("plugins/views.py", 2, "outbound"),
        ("plugins/credentials/__init__.py", 1, "vault"),
        ("plugins/proxy/filters.py", 1, "sandbox"),
        ("plugins/validation/core.py", 5, "pure core"),
        ("plugins/tools/__init__.py", 1, "pure core"),
        ("plugins/tools/render.py", 1, "pure core"),
        ("accounts/services.py", 3, "accounts"),
        ("marketplace/a.py", 2, "cycle"),  # a -> b -> c -> a, through a function-level import
    }


def test_it_reports_a_cycle_with_every_module_in_it(planted_tree):
    cycles = [v for v in check_tree(planted_tree) if v.rule == "cycle"]
    assert [v.detail for v in cycles] == [
        "import cycle between marketplace.a, marketplace.b, marketplace.c"
    ]


def test_infrastructure_libraries_are_named_exceptions():
    # The database driver, Redis, the broker and SMTP are not outbound HTTP: no rule forbids them.
    for library in INFRASTRUCTURE:
        assert not _matches(library, HTTP_AND_SOCKET_LIBRARIES + CIPHER_LIBRARIES)
