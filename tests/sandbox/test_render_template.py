"""render_template: renders ordinary templates, refuses hostile ones, never executes them."""

import json
import os
import threading
from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError

from plugins.sandbox import TemplateRejected, environment, render, render_template

CANARY = "canary-secret-7f3e9a1c"


def rejected(source, context=None, **kwargs) -> TemplateRejected:
    with pytest.raises(TemplateRejected) as info:
        render_template(source, context or {}, **kwargs)
    return info.value


# --- ordinary templates ---------------------------------------------------------------------


def test_it_renders_a_bootstrap_value():
    context = {"auth": {"token": "tok_123", "data": {"access_token": "at", "user_id": 42}}}
    assert render_template("{{ auth.token }}", context) == "tok_123"
    assert render_template("{{ auth.data.user_id }}", context) == "42"


def test_it_renders_a_loop_over_response_items():
    context = {"response": {"items": [{"name": "Tea", "price": 3.5}, {"name": "Café", "price": 4}]}}
    source = "{% for item in response['items'] %}- {{ item.name }}: {{ item.price }}\n{% endfor %}"
    assert render_template(source, context) == "- Tea: 3.5\n- Café: 4\n"


def test_it_renders_tojson():
    data = {"a": [1, 2], "b": "é😀 <b>"}
    assert json.loads(render_template("{{ data | tojson }}", {"data": data})) == data


def test_it_reads_data_keys_that_start_with_an_underscore():
    context = {"response": {"_links": {"next": {"href": "/p2"}}, "items": [{"_id": 7}]}}
    source = "{{ response._links.next.href }} {{ response['items']|map(attribute='_id')|list }}"
    assert render_template(source, context) == "/p2 [7]"


def test_it_allows_modest_arithmetic_and_repetition():
    assert render_template("{{ 2 ** 10 }} {{ '-' * 3 }} {{ 7 // 2 }} {{ 7 % 3 }}", {}) == (
        "1024 --- 3 1"
    )
    assert render_template("{{ '%5.1f|%-4s|' % (3.14159, 'ab') }}", {}) == "  3.1|ab  |"


def test_it_fails_loudly_on_a_missing_variable_unless_told_to_be_lenient():
    error = rejected("{{ auth.tokn }}", {"auth": {"token": "t"}})
    assert error.code == "template.render_failed"
    assert error.line == 1
    source = "{% if response.next %}more{% endif %}[{{ missing }}]"
    assert render_template(source, {"response": {}}, strict_undefined=False) == "[]"


# --- hostile templates ----------------------------------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("source", "context", "code"),
    [
        ("{{ ''.__class__.__mro__ }}", {}, "template.unsafe_attribute"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", {}, "template.unsafe_attribute"),
        ("{{ lipsum.__globals__ }}", {}, "template.unsafe_attribute"),
        ("{{ cycler.__init__.__globals__ }}", {}, "template.unsafe_attribute"),
        ("{{ x|attr(name) }}", {"x": "", "name": "__class__"}, "template.unsafe_attribute"),
        ("{{ x[name] }}", {"x": "", "name": "__class__"}, "template.unsafe_attribute"),
        ("{{ items.append(1) }}", {"items": []}, "template.unsafe_attribute"),
        ("{{ self._TemplateReference__context }}", {}, "template.unsafe_attribute"),
        (
            "{{ x|map(attribute=n)|first }}",
            {"x": [""], "n": "__class__"},
            "template.unsafe_attribute",
        ),
        ("{{ 10 ** 10000000 }}", {}, "template.too_expensive"),
        ("{{ 'a' * 10**9 }}", {}, "template.too_expensive"),
        ("{{ [0] * 10**9 }}", {}, "template.too_expensive"),
        ("{{ n * n }}", {"n": 10**1200}, "template.too_expensive"),
        ("{{ '%999999999s' % 'a' }}", {}, "template.too_expensive"),
        ("{{ '%*s' % (999999999, 'a') }}", {}, "template.too_expensive"),
        ("{% for i in range(10**9) %}x{% endfor %}", {}, "template.too_expensive"),
        ("{{ 'a'|center(999999999) }}", {}, "template.too_expensive"),  # stopped by the memory cap
        (
            "{% set ns = namespace(s='x' * 100000) %}"
            "{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
            {},
            "template.too_expensive",
        ),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", {}, "template.too_expensive"),
    ],
)
def test_it_refuses_hostile_templates(source, context, code):
    assert rejected(source, context).code == code


def test_it_blocks_the_attr_format_escape_cve_2025_27516_at_render_time(tmp_path):
    # The name is computed, so only the sandbox itself (Jinja >= 3.1.6) can stop it.
    marker = tmp_path / "pwned"
    payload = "{0.__class__.__mro__[1].__subclasses__}"
    error = rejected("{{ s|attr(n)(1) }}", {"s": payload, "n": "format"})
    assert error.code == "template.unsafe_attribute"
    assert not marker.exists()


def test_it_keeps_str_format_sandboxed_when_called_indirectly_cve_2024_56326():
    # The advisory's shape: keep a reference to a malicious string's format method and have a
    # filter call it. The environment itself is used here because only an application filter
    # can make the indirect call; ours has none.
    env = environment.SandboxEnvironment(strict=True)
    env.filters["call"] = lambda function, *args: function(*args)
    template = env.from_string(
        "{% set f = '{0.__class__.__mro__[1].__subclasses__}'.format %}{{ f|call(1) }}"
    )
    with pytest.raises(SecurityError):
        template.render()


def test_it_blocks_the_attr_format_escape_in_the_environment_too():
    env = environment.SandboxEnvironment(strict=True)
    template = env.from_string('{{ "{0.__class__.__mro__}"|attr("format")(1) }}')
    with pytest.raises(SecurityError):
        template.render()


def test_it_never_runs_code_from_a_template(tmp_path):
    marker = tmp_path / "pwned"
    for source in [
        "{{ cycler.__init__.__globals__.os.system('touch ' ~ path) }}",
        "{{ joiner.__init__.__globals__['os'].system('touch ' ~ path) }}",
        "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.system('touch '"
        " ~ path) }}",
        "{% for c in ''.__class__.__base__.__subclasses__() %}{% if c.__name__ == 'Popen' %}"
        "{{ c(['touch', path]) }}{% endif %}{% endfor %}",
    ]:
        rejected(source, {"path": str(marker)})
    assert not marker.exists()


# --- limits ---------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_it_stops_a_render_at_the_timeout_and_recovers():
    source = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    error = rejected(source, timeout_seconds=0.5)
    assert error.code == "template.timeout"
    assert render_template("{{ 1 + 1 }}", {}) == "2"


def test_it_stops_output_past_the_cap():
    source = "{% for i in range(100000) %}0123456789{% endfor %}"
    assert rejected(source, max_output_chars=1000).code == "template.output_too_large"
    assert len(render_template(source, {}, max_output_chars=1_000_000)) == 1_000_000


@pytest.mark.timeout(30)
def test_it_recovers_after_running_out_of_memory():
    source = "{% set ns = namespace(s='x' * 100000) %}{% for i in range(40) %}"
    source += "{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
    assert rejected(source).code == "template.too_expensive"
    assert render_template("{{ 'ok' }}", {}) == "ok"


def test_it_keeps_context_values_out_of_error_messages():
    error = rejected("{{ {}[auth.token] }}", {"auth": {"token": CANARY}})
    assert error.code == "template.render_failed"
    assert CANARY not in error.message


@pytest.mark.timeout(30)
def test_it_serves_concurrent_callers():
    results, failures = [], []

    def render(n):
        try:
            results.append(render_template("{{ n * 2 }}", {"n": n}))
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=render, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(results, key=int) == [str(n * 2) for n in range(12)]


def test_its_workers_do_not_inherit_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"postgres://user:{CANARY}@db/x")
    worker = render.Worker()
    try:
        environ = Path(f"/proc/{worker.process.pid}/environ").read_bytes()
    finally:
        worker.kill()
    assert CANARY.encode() not in environ
    assert b"DATABASE_URL" not in environ


def test_a_forked_child_starts_its_own_workers():
    render_template("{{ 1 }}", {})  # make sure this process has a pool
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            ok = render._pool is None and render_template("{{ 2 }}", {}) == "2"
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    os.close(read)
