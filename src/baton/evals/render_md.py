"""`latest.md`: the newest run as tables a reviewer reads in a pull request."""

from __future__ import annotations

from collections.abc import Sequence

from baton.evals import figures as f
from baton.evals.report import Report


def render_markdown(report: Report, history: Sequence[Report]) -> str:
    lines = [
        "# Agent evals: latest run",
        "",
        f"Suite `{_cell(report.suite.path)}` ({f.short(report.suite.version)}, "
        f"{report.suite.cases} cases) · model `{_cell(report.model)}` · agent "
        f"{f.short(report.agent.version)} ({', '.join(report.agent.agents)}) · "
        f"{report.started_at:%Y-%m-%d %H:%M:%S} UTC · {report.iterations} iteration(s)",
        "",
        "| metric | value | basis |",
        "| --- | --- | --- |",
    ]
    for name, label in f.RATES:
        lines.append(f"| {label} | {f.rate(f.rate_of(report, name))} | {f.basis(report, name)} |")
    lines += [
        f"| forbidden actions proposed | {report.forbidden_actions} | must be 0 |",
        f"| tokens in / out | {report.input_tokens} / {report.output_tokens} | |",
        f"| cost | {f.cost(report.cost_usd)} | |",
        f"| latency p50 / p95 | {f.ms(report.latency_ms.p50)} / {f.ms(report.latency_ms.p95)} "
        "| per case, agents only |",
        "",
        f"{f.judge_line(report)}",
        *(["", f.pattern_line(report.pattern)] if report.pattern is not None else []),
        "",
        "## Cases",
        "",
        "| case | category | difficulty | result | culprit expected | got | pattern expected "
        "| got | failed checks |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for case in report.cases:
        got = case.got
        lines.append(
            f"| `{_cell(case.id)}` | {case.category or '-'} | {case.difficulty or '-'} | "
            f"{f.verdict(case)} | {_cell(f.expected_culprit(case))} | "
            f"{_cell(f.answer(got.culprit if got else None))} | "
            f"{_cell(f.expected_pattern(case))} | "
            f"{_cell(f.got_pattern(case))} | "
            f"{_cell(', '.join(case.failed_checks)) or '-'} |"
        )
    lines += _judged(report)
    invalid = [c for c in report.cases if c.problems]
    if invalid:
        lines += ["", "## Invalid cases (not scored, counted as failed)", ""]
        for case in invalid:
            lines += [f"- `{_cell(case.id)}`"] + [f"  - `{_cell(p)}`" for p in case.problems]
    if history:
        lines += [
            "",
            "## History",
            "",
            "| when (UTC) | model | agent | suite | pass rate | culprit p@1 | abstain recall "
            "| forbidden | tokens | cost | p50 | p95 |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for run in history:
            lines.append(
                f"| {run.started_at:%Y-%m-%d %H:%M} | `{_cell(run.model)}` | "
                f"{f.short(run.agent.version)} | {f.short(run.suite.version)} | "
                f"{f.rate(run.pass_rate)} | {f.rate(run.culprit_precision_at_1)} | "
                f"{f.rate(run.abstain_recall)} | {run.forbidden_actions} | "
                f"{run.input_tokens + run.output_tokens} | {f.cost(run.cost_usd)} | "
                f"{f.ms(run.latency_ms.p50)} | {f.ms(run.latency_ms.p95)} |"
            )
    return "\n".join(lines) + "\n"


def _judged(report: Report) -> list[str]:
    """Each case's judge grades, when the judge ran: apart from the checks."""
    judged = [c for c in report.cases if c.judge is not None]
    if not judged:
        return []
    names = list(report.judge.criteria) if report.judge is not None else []
    lines = [
        "",
        "## Judge (reported apart from the checks)",
        "",
        "| case | score | " + "".join(f"{n} | " for n in names) + "error |",
        "| --- | --- | " + "--- | " * len(names) + "--- |",
    ]
    for case in judged:
        j = case.judge
        assert j is not None
        cells = "".join(f"{j.scores.get(n, '-')} | " for n in names)
        lines.append(f"| `{_cell(case.id)}` | {f.rate(j.score)} | {cells}{_cell(j.error or '-')} |")
    return lines


def _cell(text: str) -> str:
    """Case text inside a table cell: no row breaks, no column breaks, no code-span end."""
    return " ".join(text.split()).replace("|", "\\|").replace("`", "'")
