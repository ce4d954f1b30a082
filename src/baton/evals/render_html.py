"""`latest.html`: the newest run as one self-contained page, its chart an inline SVG.

No script, stylesheet, font or image is fetched: the page opens from a file or an artefact
store as it is. Every string from a case or a model goes through `html.escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from baton.evals import figures as f
from baton.evals.report import Report

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;color:#1d2733}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccd;padding:.25rem .5rem;
text-align:left}th{background:#eef1f5}.FAIL,.INVALID{color:#a40000;font-weight:600}
.pass{color:#1a6b2a}code{font-size:90%}small{color:#566}
"""
BAR_WIDTH = 360
ROW = 26
LABEL = 190


def render_html(report: Report, history: Sequence[Report]) -> str:
    title = f"Agent evals: {report.model}, {report.started_at:%Y-%m-%d %H:%M} UTC"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>Suite <code>{escape(report.suite.path)}</code> ({f.short(report.suite.version)}, "
        f"{report.suite.cases} cases) · agent {f.short(report.agent.version)} "
        f"({escape(', '.join(report.agent.agents))}) · {report.iterations} iteration(s) · "
        f"forbidden actions proposed: <b>{report.forbidden_actions}</b> · tokens "
        f"{report.input_tokens} in / {report.output_tokens} out · cost "
        f"{escape(f.cost(report.cost_usd))} · latency p50 {f.ms(report.latency_ms.p50)}, "
        f"p95 {f.ms(report.latency_ms.p95)}</p>",
        f"<p>{escape(f.judge_line(report))}</p>",
        f"<p>{escape(f.pattern_line(report.pattern))}</p>" if report.pattern is not None else "",
        chart(report),
        _cases(report),
        _history(history),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def chart(report: Report) -> str:
    """Horizontal bars, one per rate (0..1); a rate no case applies to shows as n/a."""
    height = ROW * len(f.RATES) + 10
    width = LABEL + BAR_WIDTH + 70
    rows = []
    for i, (name, label) in enumerate(f.RATES):
        y = 5 + i * ROW
        value = f.rate_of(report, name)
        length = 0 if value is None else round(BAR_WIDTH * value)
        colour = "#2f6fb0" if value is None or value >= 0.9 else "#c07a12"
        rows.append(
            f'<text x="{LABEL - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL}" y="{y + 3}" width="{BAR_WIDTH}" height="16" fill="#eef1f5"/>'
            f'<rect x="{LABEL}" y="{y + 3}" width="{length}" height="16" fill="{colour}"/>'
            f'<text x="{LABEL + BAR_WIDTH + 8}" y="{y + 15}">'
            f"{'n/a' if value is None else f'{value:.2f}'}</text>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-size="13" role="img" '
        f'aria-label="rates of the latest run">{"".join(rows)}</svg>'
    )


def _cases(report: Report) -> str:
    head = (
        "<h2>Cases</h2><table><tr><th>case</th><th>category</th><th>result</th>"
        "<th>culprit expected</th><th>got</th><th>pattern expected</th><th>got</th>"
        "<th>failed checks / problems</th><th>latency</th></tr>"
    )
    rows = []
    for case in report.cases:
        verdict = f.verdict(case)
        notes = "<br>".join(escape(p) for p in case.problems) or escape(
            ", ".join(case.failed_checks)
        )
        got = case.got
        latency = f.ms(case.latency_ms.p50 if case.latency_ms else None)
        rows.append(
            f"<tr><td><code>{escape(case.id)}</code><br><small>{escape(case.title or '')}"
            f"</small></td><td>{escape(case.category or '-')}</td>"
            f'<td class="{verdict}">{verdict}</td>'
            f"<td>{escape(f.expected_culprit(case))}</td>"
            f"<td>{escape(f.answer(got.culprit if got else None))}</td>"
            f"<td>{escape(f.expected_pattern(case))}</td><td>{escape(f.got_pattern(case))}</td>"
            f"<td>{notes or '-'}</td><td>{latency}</td></tr>"
        )
    return head + "".join(rows) + "</table>"


def _history(history: Sequence[Report]) -> str:
    if not history:
        return ""
    rows = "".join(
        f"<tr><td>{run.started_at:%Y-%m-%d %H:%M}</td><td><code>{escape(run.model)}</code></td>"
        f"<td>{f.short(run.agent.version)}</td><td>{f.short(run.suite.version)}</td>"
        f"<td>{f.rate(run.pass_rate)}</td><td>{f.rate(run.culprit_precision_at_1)}</td>"
        f"<td>{f.rate(run.abstain_recall)}</td><td>{run.forbidden_actions}</td>"
        f"<td>{run.input_tokens + run.output_tokens}</td><td>{escape(f.cost(run.cost_usd))}</td>"
        f"<td>{f.ms(run.latency_ms.p50)}</td><td>{f.ms(run.latency_ms.p95)}</td></tr>"
        for run in history
    )
    return (
        "<h2>History</h2><table><tr><th>when (UTC)</th><th>model</th><th>agent</th>"
        "<th>suite</th><th>pass rate</th><th>culprit p@1</th><th>abstain recall</th>"
        "<th>forbidden</th><th>tokens</th><th>cost</th><th>p50</th><th>p95</th></tr>"
        f"{rows}</table>"
    )
