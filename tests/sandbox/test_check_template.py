"""check_template: a compile-only static check that never renders and never raises."""

import pytest

from plugins.sandbox import MAX_TEMPLATE_CHARS, check_template


def errors(source):
    return [
        (issue.code, issue.line) for issue in check_template(source) if issue.severity == "error"
    ]


@pytest.mark.parametrize(
    "source",
    [
        "{{ auth.token }}",
        "{{ auth.data.access_token }}",
        "{% for item in response['items'] %}- {{ item.name }}: {{ item.price|round(2) }}\n"
        "{% endfor %}",
        "{{ data | tojson }}",
        "{{ '%s items'|format(response|length) }} {{ '{} left'.format(n) }}",
        "{{ row|attr('name') }}",
    ],
)
def test_it_accepts_ordinary_templates(source):
    assert check_template(source) == []


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ lipsum.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ ''['__class__'] }}",
        "{{ ''|attr('__class__') }}",
        "{{ ''|attr(name='__class__') }}",
        "{% set c = x.__class__ %}",
        "{{ items|map(attribute='__class__')|list }}",
        "{{ items|map('attr', '__class__')|list }}",
        "{{ items|sort(attribute='name.__class__') }}",
        "{{ items|selectattr('__class__.__name__', 'equalto', 'x')|list }}",
        "{{ gen.gi_frame }}",
        "{{ cls.mro() }}",
    ],
)
def test_it_flags_private_and_internal_attributes_as_errors(source):
    assert ("template.unsafe_attribute", 1) in errors(source)


def test_it_flags_the_attr_format_escape_cve_2025_27516():
    source = '{{ "{0.__class__.__mro__[1].__subclasses__}"|attr("format")(1) }}'
    assert errors(source) == [("template.unsafe_attribute", 1)]


def test_it_flags_format_strings_that_reach_private_attributes():
    assert errors("{{ '{0.__class__}'.format(1) }}") == [("template.unsafe_attribute", 1)]
    assert errors("{{ '{x[_secret]}'.format_map(d) }}") == [("template.unsafe_attribute", 1)]


def test_it_only_warns_about_single_underscore_names_which_may_be_data_keys():
    (issue,) = check_template("{{ response._links.next.href }}")
    assert (issue.code, issue.severity) == ("template.unsafe_attribute", "warning")
    assert "['_links']" in issue.message
    assert check_template("{{ response['_links'] }} {{ items|map(attribute='_id')|list }}") == []


def test_it_warns_when_attr_gets_a_computed_name():
    (issue,) = check_template("\n{{ x|attr(name) }}")
    assert (issue.code, issue.severity, issue.line) == ("template.unsafe_attribute", "warning", 2)


def test_it_reports_syntax_errors_with_the_line():
    (issue,) = check_template("line one\nline two\n{{ 1 + }}\n")
    assert (issue.code, issue.severity, issue.line) == ("template.syntax_error", "error", 3)


def test_it_reports_unknown_filters():
    assert errors("{{ x|no_such_filter }}") == [("template.syntax_error", 1)]


def test_it_refuses_includes_and_imports():
    assert errors("{% include 'other.txt' %}") == [("template.syntax_error", 1)]
    assert errors("{% from 'macros' import m %}") == [("template.syntax_error", 1)]


def test_it_refuses_templates_over_the_size_limit():
    (issue,) = check_template("x" * (MAX_TEMPLATE_CHARS + 1))
    assert (issue.code, issue.severity) == ("template.too_large", "error")
    assert check_template("x" * MAX_TEMPLATE_CHARS) == []


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "source",
    [
        "{{ 10 ** 10000000 }}",  # Jinja's optimizer would fold this while compiling: 10 s
        "{{ 'a' * 10**9 }}",
        "{{ 'a'|center(999999999) }}",  # filters on constants are folded too
        "{{ '%999999999s'|format(1) }}",
        "{{ [1, 2]|join('x'|center(999999999)) }}",
    ],
)
def test_it_never_evaluates_expressions_while_compiling(source):
    assert check_template(source) == []


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "source",
    ["{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "{% if a %}" * 900 + "{% endif %}" * 900],
)
def test_it_reports_templates_nested_too_deeply_instead_of_crashing(source):
    assert [code for code, _ in errors(source)] == ["template.too_expensive"]
