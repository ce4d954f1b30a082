"""The sandboxed template layer: rendering, native values, references, refusals."""

from __future__ import annotations

from typing import Any

import pytest

from baton.errors import InputError
from baton.runbooks.template import (
    TemplateError,
    evaluate,
    references,
    render,
    render_value,
)

CTX: dict[str, Any] = {
    "incident": {"title": "API down", "service": "checkout", "labels": {"team": "payments"}},
    "inputs": {"replicas": 3, "argv": ["echo", "hi"], "flag": True},
    "run": {"id": "r-1", "runbook_id": "rb", "runbook_version": "sha256:00"},
    "tasks": {"diagnose": {"status": "succeeded", "output": {"stdout": "ok\n"}, "choice": None}},
}


def test_render_substitutes_context() -> None:
    assert render("svc={{ incident.service }} run={{ run.id }}", CTX) == "svc=checkout run=r-1"


def test_render_does_not_escape_html() -> None:
    assert render("{{ '<b>&' }}", CTX) == "<b>&"


def test_render_value_keeps_native_value_of_single_expression() -> None:
    value = {
        "argv": "{{ inputs.argv }}",
        "n": " {{ inputs.replicas }} ",
        "s": "x{{ inputs.replicas }}",
        "nested": ["{{ inputs.flag }}", 7, "plain"],
    }
    assert render_value(value, CTX) == {
        "argv": ["echo", "hi"],
        "n": 3,
        "s": "x3",
        "nested": [True, 7, "plain"],
    }


def test_render_value_two_expressions_render_as_text() -> None:
    assert render_value("{{ inputs.replicas }}{{ inputs.replicas }}", CTX) == "33"


def test_evaluate_with_and_without_braces() -> None:
    assert evaluate("tasks.diagnose.status == 'succeeded'", CTX) is True
    assert evaluate("{{ inputs.replicas > 5 }}", CTX) is False


def test_strict_undefined_raises_template_error_naming_the_template() -> None:
    with pytest.raises(TemplateError, match=r"params\.argv.*nope"):
        render("{{ incident.nope }}", CTX, name="params.argv")
    with pytest.raises(TemplateError, match="nope"):
        evaluate("incident.nope", CTX)
    with pytest.raises(TemplateError, match="missing"):
        render_value("{{ tasks.missing.output }}", CTX)


def test_template_error_is_an_input_error() -> None:
    assert issubclass(TemplateError, InputError)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ incident.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_sandbox_refuses_dunder_access(source: str) -> None:
    with pytest.raises(TemplateError):
        render(source, CTX)
    with pytest.raises(TemplateError):
        render_value(source, CTX)


def test_immutable_sandbox_refuses_mutation() -> None:
    ctx = {**CTX, "inputs": {"items": [1]}}
    with pytest.raises(TemplateError, match=r"unsafe|not safely|access"):
        render("{{ inputs['items'].append(2) }}", ctx)
    assert ctx["inputs"]["items"] == [1]


def test_runtime_errors_become_template_errors() -> None:
    with pytest.raises(TemplateError, match="ZeroDivisionError"):
        evaluate("1 / 0", CTX)


def test_syntax_error_becomes_template_error() -> None:
    with pytest.raises(TemplateError, match="TemplateSyntaxError"):
        render("{{ incident.service ", CTX)


def test_references_full_paths() -> None:
    refs = references("{{ tasks.diagnose.output.stdout }} {{ incident['service'] }} {{ run.id }}")
    assert refs == {
        ("tasks", "diagnose", "output", "stdout"),
        ("incident", "service"),
        ("run", "id"),
    }


def test_references_expression_and_dynamic_subscript() -> None:
    refs = references(
        "tasks[inputs.which].status == 'ok' and incident.labels.team", expression=True
    )
    assert refs == {("tasks",), ("inputs", "which"), ("incident", "labels", "team")}


def test_references_ignore_loop_variables_and_see_filter_arguments() -> None:
    refs = references(
        "{% for t in tasks.a.output.lines %}{{ t.name }}{% endfor %}"
        "{{ inputs.x | default(incident.title) }}"
    )
    assert refs == {("tasks", "a", "output", "lines"), ("inputs", "x"), ("incident", "title")}


def test_references_of_method_call_base() -> None:
    refs = references("{{ incident.title.upper().strip }}")
    assert refs == {("incident", "title", "upper")}
