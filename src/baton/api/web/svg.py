"""Server-side SVG: a run's runbook graph with live task states, and small time charts.

Built as text with every label escaped: task ids and titles come from runbook authors,
and nothing in an SVG we serve may be read as markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from baton.runbooks.dag import effective_needs
from baton.runbooks.model import Runbook

STATUS_FILL = {
    "pending": "#e8eaed",
    "running": "#cfe2ff",
    "waiting": "#fff3cd",
    "succeeded": "#d1e7dd",
    "failed": "#f8d7da",
    "skipped": "#f1f3f5",
    "cancelled": "#e2d9f3",
}
_W, _H, _GAP_X, _GAP_Y = 170, 46, 60, 18


def levels(needs: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Each task's column: one more than the deepest task it needs."""
    level: dict[str, int] = {}

    def depth(task: str, trail: frozenset[str] = frozenset()) -> int:
        if task in level:
            return level[task]
        if task in trail:  # a cycle cannot be stored (validation refuses it); stay finite
            return 0
        deps = needs.get(task, [])
        level[task] = 1 + max((depth(d, trail | {task}) for d in deps), default=-1)
        return level[task]

    for task in needs:
        depth(task)
    return level


def run_graph(runbook: Runbook, statuses: Mapping[str, str]) -> str:
    """The runbook's DAG, left to right, each task filled by its status in this run."""
    needs = effective_needs(runbook)
    column = levels(needs)
    rows: dict[int, list[str]] = {}
    for task in runbook.steps:
        rows.setdefault(column.get(task.id, 0), []).append(task.id)
    place: dict[str, tuple[int, int]] = {}
    for col, tasks in rows.items():
        for row, task_id in enumerate(tasks):
            place[task_id] = (10 + col * (_W + _GAP_X), 10 + row * (_H + _GAP_Y))
    width = 20 + (max(rows, default=0) + 1) * (_W + _GAP_X) - _GAP_X
    height = 20 + max((len(t) for t in rows.values()), default=1) * (_H + _GAP_Y) - _GAP_Y
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="graph" role="img" aria-label="runbook {escape(runbook.id)} task graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#6c757d"/></marker></defs>',
    ]
    for task_id, deps in needs.items():
        for dep in deps:
            if dep in place and task_id in place:
                (x1, y1), (x2, y2) = place[dep], place[task_id]
                parts.append(
                    f'<line x1="{x1 + _W}" y1="{y1 + _H // 2}" x2="{x2}" y2="{y2 + _H // 2}" '
                    'stroke="#6c757d" stroke-width="1.5" marker-end="url(#arrow)"/>'
                )
    for task in runbook.steps:
        x, y = place[task.id]
        status = statuses.get(task.id, "pending")
        fill = STATUS_FILL.get(status, "#ffffff")
        parts.append(
            f"<g><title>{escape(task.id)}: {escape(status)}</title>"
            f'<rect x="{x}" y="{y}" width="{_W}" height="{_H}" rx="8" fill="{fill}" '
            f'stroke="#495057"/>'
            f'<text x="{x + 10}" y="{y + 19}" font-size="13" font-weight="600">'
            f"{escape(task.id[:22])}</text>"
            f'<text x="{x + 10}" y="{y + 36}" font-size="11" fill="#495057">'
            f"{escape(task.type)} · {escape(status)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    title: str, points: Sequence[tuple[str, float | None]], unit: str, *, color: str
) -> str:
    """Bars per period (label, value); a missing value draws no bar and says so."""
    width, height, left, bottom = 560, 200, 48, 28
    values = [v for _, v in points if v is not None]
    top = max(values, default=1.0) or 1.0
    step = (width - left - 10) / max(len(points), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="14" font-size="13" font-weight="600">{escape(title)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
        'stroke="#adb5bd"/>',
        f'<text x="4" y="30" font-size="10" fill="#6c757d">{top:.0f}{escape(unit)}</text>',
    ]
    span = height - bottom - 24
    for i, (label, value) in enumerate(points):
        x = left + i * step + 2
        if value is not None:
            h = span * value / top
            parts.append(
                f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{max(step - 4, 1):.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{escape(label)}: {value:.1f}'
                f"{escape(unit)}</title></rect>"
            )
        if len(points) <= 14 or i % max(len(points) // 7, 1) == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{height - 10}" font-size="10" fill="#6c757d">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
