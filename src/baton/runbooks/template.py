"""Sandboxed Jinja2 for runbook templates and expressions.

Templates see incident and task data that an attacker may influence (alert text, command
output), so they run in Jinja's immutable sandbox: no dunder access, no mutation of the
context. `StrictUndefined` turns a typo into an error instead of an empty string.

The context at run time is::

    incident: the Incident fields as a dict (title, severity, service, labels, data, ...)
    inputs:   {name: value} of the run's inputs
    run:      {id, runbook_id, runbook_version}
    tasks:    {task_id: {status, output: dict, choice}}
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Undefined, nodes
from jinja2 import TemplateError as JinjaTemplateError
from jinja2.meta import find_undeclared_variables
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

from baton.errors import InputError

CONTEXT_NAMES = frozenset({"incident", "inputs", "run", "tasks"})
"""Top-level names a template may use (besides Jinja's own globals such as `range`)."""

RUN_FIELDS = frozenset({"id", "runbook_id", "runbook_version"})
TASK_FIELDS = frozenset({"status", "output", "choice"})

_SINGLE = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.DOTALL)

RefPath = tuple[str, ...]


class TemplateError(InputError):
    """A template did not parse or could not be rendered with the context it was given."""

    code = "template_error"


RENDER_LIMIT = 65536
"""Characters a template may render to, and a string or list it may build: `{{ 'a' *
100000000 }}` stored 100 MB in the audit trail. Values from data are not cut; a template
that would exceed this fails with a clear error and nothing is stored."""


class _Bounded(ImmutableSandboxedEnvironment):
    """The sandbox, with `*` and `**` checked before they build something huge."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise TemplateError(f"exponent {right} is too large for a template")
        size = 0
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    size = len(seq) * times
        elif operator == "+" and isinstance(left, str | list | tuple):
            size = len(left) + (len(right) if isinstance(right, str | list | tuple) else 0)
        if size > RENDER_LIMIT:
            raise TemplateError(f"the template builds {size} items; the limit is {RENDER_LIMIT}")
        return super().call_binop(context, operator, left, right)


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    """The one Jinja environment; built on first use, not at import."""
    env = _Bounded(undefined=StrictUndefined, autoescape=False)
    env.filters["shell_quote"] = lambda value: shlex.quote(str(value))
    return env


def single_expression(text: str) -> str | None:
    """The expression inside `{{ expr }}` when that is the whole string, else None."""
    m = _SINGLE.match(text)
    if m is None or "{{" in m["expr"] or "}}" in m["expr"]:
        return None
    return m["expr"].strip()


def strip_braces(expr: str) -> str:
    """`when` may be written `x == 1` or `{{ x == 1 }}`; both mean the same expression."""
    inner = single_expression(expr)
    return inner if inner is not None else expr.strip()


def _fail(name: str, exc: Exception) -> TemplateError:
    detail = exc.message if isinstance(exc, JinjaTemplateError) and exc.message else str(exc)
    return TemplateError(f"template {name}: {type(exc).__name__}: {detail}")


def render(text: str, context: Mapping[str, Any], *, name: str = "<template>") -> str:
    """Render `text` as a template to a string of at most `RENDER_LIMIT` characters (a loop
    cannot build more: the output is streamed and cut off)."""
    try:
        parts: list[str] = []
        size = 0
        for chunk in environment().from_string(text).generate(dict(context)):
            size += len(chunk)
            if size > RENDER_LIMIT:
                raise TemplateError(f"renders to more than {RENDER_LIMIT} characters")
            parts.append(chunk)
        return "".join(parts)
    except Exception as exc:  # a template may raise anything (ZeroDivisionError, ...)
        raise _fail(name, exc) from exc


def evaluate(expr: str, context: Mapping[str, Any], *, name: str = "<expression>") -> Any:
    """Evaluate an expression (with or without `{{ }}`) to its native value."""
    try:
        compiled = environment().compile_expression(strip_braces(expr), undefined_to_none=False)
        result = compiled(**context)
        if isinstance(result, Undefined):
            result._fail_with_undefined_error()
    except Exception as exc:
        raise _fail(name, exc) from exc
    return result


def render_value(value: Any, context: Mapping[str, Any], *, name: str = "<value>") -> Any:
    """Render every string inside dicts and lists.

    A string that is exactly one `{{ expr }}` becomes the expression's native value, so
    `argv: "{{ inputs.argv }}"` can yield a list and `seconds: "{{ inputs.n }}"` a number.
    """
    if isinstance(value, str):
        expr = single_expression(value)
        if expr is not None:
            return evaluate(expr, context, name=name)
        return render(value, context, name=name)
    if isinstance(value, Mapping):
        return {k: render_value(v, context, name=f"{name}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render_value(v, context, name=f"{name}[{i}]") for i, v in enumerate(value)]
    return value


def parse(text: str, *, expression: bool = False) -> nodes.Template:
    """Parse a template (or an expression) to its AST; raises jinja2's TemplateSyntaxError."""
    env = environment()
    if not expression:
        return env.parse(text)
    parser = Parser(env, strip_braces(text), state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        parser.fail(f"unexpected {parser.stream.current.value!r} after the expression")
    tree = nodes.Template([nodes.Output([expr], lineno=1)], lineno=1)
    tree.set_environment(env)
    return tree


def check_syntax(text: str, *, expression: bool = False) -> str | None:
    """None if `text` parses, else a one-line reason."""
    try:
        parse(text, expression=expression)
        if expression:
            environment().compile_expression(strip_braces(text))
        else:
            environment().from_string(text)
    except JinjaTemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (template line {line})" if line and line > 1 else ""
        return f"{exc.message or exc}{where}"
    return None


def references(text: str, *, expression: bool = False) -> set[RefPath]:
    """Attribute/item paths used off free top-level names.

    `{{ tasks.diagnose.output.stdout }}` → `{("tasks", "diagnose", "output", "stdout")}`.
    A dynamic subscript (`tasks[name]`) ends the path at the name before it. Names bound
    inside the template (loop variables, `set`) are not free and are not reported.
    """
    tree = parse(text, expression=expression)
    free = find_undeclared_variables(tree)
    found: set[RefPath] = set()

    def chain(node: nodes.Node) -> tuple[RefPath | None, bool, list[nodes.Node]]:
        # -> (path so far, can the path still grow, sub-nodes that still need a visit)
        if isinstance(node, nodes.Name):
            return (node.name,), True, []
        if isinstance(node, nodes.Getattr):
            path, open_, rest = chain(node.node)
            if path is not None and open_:
                return (*path, node.attr), True, rest
            return path, False, rest
        if isinstance(node, nodes.Getitem):
            path, open_, rest = chain(node.node)
            arg = node.arg
            key = arg.value if isinstance(arg, nodes.Const) else None
            if path is not None and open_ and type(key) in (str, int):
                return (*path, str(key)), True, rest
            return path, False, [*rest, arg]
        return None, False, [node]

    def visit(node: nodes.Node) -> None:
        if isinstance(node, nodes.Name | nodes.Getattr | nodes.Getitem):
            path, _, rest = chain(node)
            if path is not None and path[0] in free:
                found.add(path)
            for sub in rest:
                if sub is node:
                    continue
                visit(sub)
            return
        for child in node.iter_child_nodes():
            visit(child)

    visit(tree)
    return found
