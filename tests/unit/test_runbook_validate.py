"""Semantic validation: every problem names its line, column and task."""

from __future__ import annotations

import pytest

from baton.errors import RunbookInvalid
from baton.runbooks.loader import parse_runbook
from baton.runbooks.model import Runbook
from baton.runbooks.problem import Problem
from baton.runbooks.validate import validate

HEAD = """\
id: demo
title: Demo
owner: sre
inputs:
  target: {default: web}
tasks:
"""  # tasks start on line 7


def check(tasks: str) -> list[tuple[int | None, str | None, str]]:
    """(line, task id, message) of every problem in HEAD + tasks."""
    with pytest.raises(RunbookInvalid) as info:
        parse_runbook(HEAD + tasks, "rb.yaml")
    found = info.value.problems
    assert all(isinstance(p, Problem) and p.file == "rb.yaml" for p in found)
    return [(p.line, p.task_id, p.message) for p in found]  # type: ignore[attr-defined]


def ok(tasks: str) -> None:
    parse_runbook(HEAD + tasks, "rb.yaml")


def wait(task_id: str, needs: str = "[]", extra: str = "") -> str:
    return (
        f"  - id: {task_id}\n"  # line n
        f"    type: action\n"
        f"    title: {task_id}\n"
        f"    needs: {needs}\n"  # line n+3
        f"    executor: wait\n"
        f"    params: {{seconds: 1}}\n"
        f"{extra}"
    )


def test_duplicate_task_id() -> None:
    assert check(wait("a") + wait("a")) == [(13, "a", "duplicate task id 'a' (first on line 7)")]


def test_unknown_need_with_suggestion() -> None:
    assert check(wait("diagnose") + wait("act", "[diagnos]")) == [
        (16, "act", "needs unknown task 'diagnos'; did you mean 'diagnose'?")
    ]


def test_unknown_need_without_close_match() -> None:
    assert check(wait("a", "[zzz]")) == [(10, "a", "needs unknown task 'zzz'")]


def test_task_needing_itself() -> None:
    assert check(wait("a", "[a]")) == [(10, "a", "a task cannot need itself")]


def test_cycle_message_prints_the_cycle() -> None:
    found = check(wait("a", "[c]") + wait("b", "[a]") + wait("c", "[b]"))
    assert found == [(7, "a", "dependency cycle: a -> c -> b -> a")]


def test_every_cycle_and_what_waits_behind_one_is_reported() -> None:
    found = check(
        wait("a", "[b]")
        + wait("b", "[a]")
        + wait("c", "[d]")
        + wait("d", "[c]")
        + wait("e", "[a]")
        + wait("f", "[e]")
        + wait("g")
    )
    assert found == [
        (7, "a", "dependency cycle: a -> b -> a"),
        (19, "c", "dependency cycle: c -> d -> c"),
        (31, "e", "unreachable: it needs 'a', which waits on a dependency cycle"),
        (37, "f", "unreachable: it needs 'e', which waits on a dependency cycle"),
    ]


def test_cycle_through_a_decision_branch() -> None:
    tasks = (
        wait("a", "[fix]")
        + (
            "  - id: pick\n"  # line 13
            "    type: decision\n"
            "    title: pick\n"
            "    needs: [a]\n"
            "    options: [x, y]\n"
            "    choose: \"'x'\"\n"
            "    on: {x: [fix], y: []}\n"
        )
        + wait("fix")
    )
    assert check(tasks) == [(7, "a", "dependency cycle: a -> fix -> pick -> a")]


DECISION = """\
  - id: pick
    type: decision
    title: Pick
    options: [ok, bad]
    choose: "'ok'"
    on:
      ok: [good]
      bda: [good]
"""


def test_decision_on_must_match_options() -> None:
    assert check(DECISION + wait("good")) == [
        (10, "pick", "option 'bad' has no entry in 'on'"),
        (14, "pick", "'on' names option 'bda' that is not in options; did you mean 'bad'?"),
    ]


def test_decision_targets_must_exist_and_not_be_itself() -> None:
    tasks = DECISION.replace("bda: [good]", "bad: [pick, gooood]") + wait("good")
    assert check(tasks) == [
        (14, "pick", "a decision cannot lead to itself"),
        (14, "pick", "option 'bad' leads to unknown task 'gooood'; did you mean 'good'?"),
    ]


def test_decision_needs_choose_or_assignee() -> None:
    tasks = DECISION.replace("    choose: \"'ok'\"\n", "").replace("bda", "bad") + wait("good")
    assert check(tasks) == [
        (7, "pick", "a decision needs 'choose' (from data) or 'assignee' (a person)")
    ]
    ok(tasks.replace("    options:", "    assignee: incident-commander\n    options:"))


def test_task_in_two_decisions_and_empty_option_are_fine() -> None:
    second = DECISION.replace("pick", "pick2").replace("bda: [good]", "bad: []")
    ok(DECISION.replace("bda", "bad") + second + wait("good"))


def test_agent_tasks_name_a_known_agent() -> None:
    ok("  - id: triage\n    title: Triage\n    type: agent\n    agent: log_analysis\n")
    tasks = "  - id: triage\n    title: Triage\n    type: agent\n    agent: log-analysis\n"
    found = check(tasks)
    assert "agent: Input should be 'itsm_change' or 'log_analysis'" in found[0][2]


HUMAN = """\
  - id: fix
    type: human
    title: Fix
    assignee: sre
    instructions: Fix it.
"""


def test_on_failure_human_and_retries_only_on_actions() -> None:
    tasks = HUMAN + "    on_failure: human\n    retries: 2\n"
    assert check(tasks) == [
        (12, "fix", "on_failure: human applies to action tasks only"),
        (13, "fix", "retries apply to action tasks only"),
    ]
    ok(wait("act", extra="    on_failure: human\n    retries: 2\n"))


# --- executor params --------------------------------------------------------------------


def command(params: str) -> str:
    return f"  - id: run\n    type: action\n    title: Run\n    executor: command\n{params}"


def test_unknown_param_key() -> None:
    found = check(command("    params:\n      argv: [ls]\n      command: ls\n"))
    assert found == [(13, "run", "params: unknown field 'command' for executor 'command'")]


def test_unknown_param_key_suggests() -> None:
    found = check(command("    params:\n      argv: [ls]\n      expect_exits: [0]\n"))
    assert found == [
        (
            13,
            "run",
            "params: unknown field 'expect_exits' for executor 'command'; "
            "did you mean 'expect_exit'?",
        )
    ]


def test_missing_required_param_points_at_params() -> None:
    found = check(command("    params:\n      cwd: /tmp\n"))
    assert found == [(11, "run", "params: missing required field 'argv'")]


def test_wrong_param_type_for_literal_value() -> None:
    found = check(command("    params:\n      argv: [sleep, 2]\n      expect_exit: [zero]\n"))
    assert [(line, tid) for line, tid, _ in found] == [(13, "run")]
    assert found[0][2].startswith("params.expect_exit.0: Input should be a valid integer")


def test_numbers_in_argv_are_their_text() -> None:
    ok(command("    params:\n      argv: [sleep, 2]\n"))


def test_wait_seconds_must_be_a_number_unless_templated() -> None:
    found = check(wait("w").replace("{seconds: 1}", "{seconds: soon}"))
    assert [(line, tid) for line, tid, _ in found] == [(12, "w")]
    assert "params.seconds" in found[0][2]
    ok(
        "  - id: w\n    type: action\n    title: W\n    executor: wait\n"
        "    params: {seconds: '{{ inputs.target }}'}\n"
    )


def test_templated_params_are_not_type_checked() -> None:
    ok(command("    params:\n      argv: '{{ inputs.target }}'\n"))


def test_http_params_use_alias_json() -> None:
    http = (
        "  - id: call\n    type: action\n    title: Call\n    executor: http\n"
        "    params:\n      url: http://localhost/x\n      method: POST\n      json: {a: 1}\n"
    )
    ok(http)
    assert check(http.replace("method: POST", "method: BREW")) == [
        (
            13,
            "call",
            "params.method: Input should be 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', "
            "'DELETE' or 'OPTIONS'",
        )
    ]


# --- templates ----------------------------------------------------------------------------


def test_template_syntax_error_in_params() -> None:
    found = check(command("    params:\n      argv: [echo, '{{ incident.service ']\n"))
    assert [(line, tid) for line, tid, _ in found] == [(12, "run")]
    assert found[0][2].startswith("params.argv[1]: template syntax error:")


def test_template_syntax_error_in_when_and_choose() -> None:
    tasks = (
        wait("a", extra="    when: inputs.target ==\n")
        + DECISION.replace("\"'ok'\"", "\"'ok' if\"").replace("bda", "bad")
        + wait("good")
    )
    found = check(tasks)
    assert [(line, tid) for line, tid, _ in found] == [(13, "a"), (18, "pick")]
    assert found[0][2].startswith("when: template syntax error")
    assert found[1][2].startswith("choose: template syntax error")


def test_when_with_or_without_braces() -> None:
    ok(wait("a", extra="    when: \"{{ inputs.target == 'web' }}\"\n"))
    ok(wait("a", extra="    when: inputs.target == 'web'\n"))


def test_unknown_top_level_name() -> None:
    found = check(HUMAN.replace("Fix it.", "Fix {{ incdent.service }}."))
    assert found == [
        (
            11,
            "fix",
            "instructions: unknown name 'incdent' in 'incdent.service' "
            "(available: incident, inputs, run, tasks)",
        )
    ]


def test_jinja_globals_are_allowed() -> None:
    ok(HUMAN.replace("Fix it.", '"{% for i in range(3) %}{{ i }}{% endfor %}"'))


def test_undeclared_input() -> None:
    found = check(HUMAN.replace("Fix it.", "Fix {{ inputs.targt }}."))
    assert found == [
        (
            11,
            "fix",
            "instructions: 'inputs.targt' uses undeclared input 'targt'; did you mean 'target'?",
        )
    ]


def test_unknown_incident_and_run_fields() -> None:
    found = check(HUMAN.replace("Fix it.", "'{{ incident.servce }} {{ run.version }}'"))
    assert [m for _, _, m in found] == [
        "instructions: 'incident.servce': incident has no field 'servce'; did you mean 'service'?",
        "instructions: 'run.version': run has no field 'version'; did you mean 'runbook_version'?",
    ]


def test_task_reference_must_be_an_ancestor() -> None:
    tasks = (
        wait("a")
        + wait("b")
        + (
            "  - id: gate\n"  # line 19
            "    type: approval\n"
            "    title: Gate\n"
            "    needs: [a]\n"
            "    approvers: [ic]\n"
            "    shows:\n"
            "      - '{{ tasks.a.output.stdout }}'\n"
            "      - '{{ tasks.b.output.stdout }}'\n"  # line 26
        )
    )
    assert check(tasks) == [
        (
            26,
            "gate",
            "shows[1]: 'tasks.b.output.stdout' uses task 'b', which this task does not "
            "depend on (add 'b' to needs)",
        )
    ]


def test_transitive_and_decision_ancestors_are_visible() -> None:
    tasks = (
        wait("a")
        + wait("b", "[a]")
        + DECISION.replace("bda", "bad").replace("    options:", "    needs: [b]\n    options:")
        + HUMAN.replace("Fix it.", "'{{ tasks.a.output.x }} {{ tasks.pick.choice }}'")
        + wait("good")
    ).replace("ok: [good]", "ok: [good, fix]")
    ok(tasks)


def test_task_reference_to_unknown_task_and_field() -> None:
    tasks = wait("a") + HUMAN.replace("Fix it.", "'{{ tasks.aa.status }} {{ tasks.a.outputs }}'")
    assert check(tasks.replace("    instructions", "    needs: [a]\n    instructions")) == [
        (
            18,
            "fix",
            "instructions: 'tasks.a.outputs': a task has no field 'outputs' "
            "(use choice, output, status)",
        ),
        (
            18,
            "fix",
            "instructions: 'tasks.aa.status' refers to unknown task 'aa'; did you mean 'a'?",
        ),
    ]


def test_self_reference_in_when() -> None:
    found = check(wait("a", extra="    when: tasks.a.status == 'failed'\n"))
    assert found == [
        (
            13,
            "a",
            "when: 'tasks.a.status' uses task 'a', which this task does not depend on "
            "(add 'a' to needs)",
        )
    ]


def test_validate_without_marks_still_names_file_and_task() -> None:
    rb = Runbook.model_validate(
        {
            "id": "x",
            "title": "x",
            "owner": "o",
            "tasks": [
                {
                    "id": "a",
                    "type": "human",
                    "title": "a",
                    "assignee": "s",
                    "instructions": "i",
                    "needs": ["b"],
                }
            ],
        }
    )
    (problem,) = validate(rb, file="mem")
    assert (problem.file, problem.line, problem.task_id) == ("mem", None, "a")
    assert str(problem) == "mem: task 'a': needs unknown task 'b'"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "scheme '(none)' refused: only http and https are allowed"),
        ("ftp://x/y", "scheme 'ftp' refused: only http and https are allowed"),
        ("https:///path", "invalid URL: no host"),
        ("http://x:99999/", "invalid URL: Port out of range 0-65535"),
    ],
)
def test_a_literal_http_url_is_checked_when_the_runbook_loads(url: str, message: str) -> None:
    task = (
        f"  - {{id: call, type: action, title: Call, executor: http, params: {{url: '{url}'}}}}\n"
    )
    assert check(task) == [(7, "call", f"params.url: {message}")]


def test_a_templated_http_url_is_checked_once_rendered() -> None:
    ok(
        "  - {id: call, type: action, title: Call, executor: http, params: {url: '{{ inputs.target }}'}}\n"
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{type: number, default: abc}", "default 'abc' is not a number"),
        ("{type: boolean, default: 'yes'}", "default 'yes' is not a boolean"),
        ("{type: string, default: 3}", "default 3.0 is not a string"),
    ],
)
def test_an_input_default_must_have_the_declared_type(spec: str, message: str) -> None:
    text = f"id: d\ntitle: D\nowner: o\ninputs:\n  n: {spec}\ntasks:\n" + wait("a")
    with pytest.raises(RunbookInvalid) as info:
        parse_runbook(text, "rb.yaml")
    assert [p.message for p in info.value.problems] == [f"inputs.n: Value error, {message}"]  # type: ignore[attr-defined]
