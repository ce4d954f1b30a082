"""Templates that would become code are refused at validation (issue 12 item 8)."""

from __future__ import annotations

import pytest

from baton.errors import RunbookInvalid
from baton.runbooks.shell import injection_problems, option_injections
from baton.runbooks.template import render
from tests.conftest import runbook


@pytest.mark.parametrize(
    "argv",
    [
        ["sh", "-c", "echo {{ incident.title }}"],
        ["/bin/bash", "-c", "kubectl rollout restart {{ inputs.x }}"],
        ["bash", "-lc", "echo {{ incident.title }}"],
        ["env", "A=1", "sh", "-c", "echo {{ incident.title }}"],
        ["sh", "-c", "{% if true %}rm{% endif %} {{ incident.title | shell_quote }}"],
        ["python3", "-c", "print({{ incident.title | shell_quote }})"],
        ["perl", "-e", "print '{{ incident.title }}'"],
        ["node", "--eval", "console.log('{{ incident.title }}')"],
    ],
)
def test_templates_in_code_arguments_are_refused(argv: list[str]) -> None:
    assert injection_problems(argv), argv


@pytest.mark.parametrize(
    "argv",
    [
        ["sh", "-c", "echo {{ incident.title | shell_quote }}"],
        ["sh", "-c", "echo $1", "sh", "{{ incident.title }}"],  # data as an argument: fine
        ["python3", "-c", "import sys; print(sys.argv[1])", "{{ incident.title }}"],
        ["kubectl", "scale", "--replicas={{ inputs.n }}", "deploy/web"],
        ["echo", "{{ incident.title }}"],
    ],
)
def test_quoted_or_passed_as_data_is_accepted(argv: list[str]) -> None:
    assert injection_problems(argv) == []


def test_validate_names_the_argv_item() -> None:
    with pytest.raises(RunbookInvalid) as caught:
        runbook(
            """\
            id: x
            title: X
            owner: sre
            tasks:
              - id: say
                type: action
                title: Say
                executor: command
                params: {argv: [sh, -c, "echo {{ incident.title }}"]}
            """
        )
    problem = str(caught.value)
    assert "params.argv[2]" in problem and "shell_quote" in problem and ":9:" in problem


def test_shell_quote_makes_hostile_text_one_word() -> None:
    title = "x'; rm -rf / #"
    assert render("echo {{ t | shell_quote }}", {"t": title}) == "echo 'x'\"'\"'; rm -rf / #'"


def test_an_argv_item_rendered_into_an_option_is_found() -> None:
    template = ["kubectl", "delete", "{{ inputs.name }}", "--replicas={{ inputs.n }}"]
    assert option_injections(template, ["kubectl", "delete", "--all", "--replicas=3"]) == ["--all"]
    assert option_injections(template, ["kubectl", "delete", "web", "--replicas=3"]) == []
