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


def run_graph(runbook: Runbook, statuses: Mapping[str, str], *, tall: bool = False) -> str:
    """The runbook's DAG, each task filled by its status in this run: left to right, or top
    to bottom when `tall` (for a phone: legible at its own size in a narrow column)."""
    needs = effective_needs(runbook)
    column = levels(needs)
    rows: dict[int, list[str]] = {}
    for task in runbook.steps:
        rows.setdefault(column.get(task.id, 0), []).append(task.id)
    step_level, step_side = (_H + _GAP_X // 2, _W + _GAP_Y) if tall else (_W + _GAP_X, _H + _GAP_Y)
    place: dict[str, tuple[int, int]] = {}
    for level, tasks in rows.items():
        for side, task_id in enumerate(tasks):
            a, b = 10 + level * step_level, 10 + side * step_side
            place[task_id] = (b, a) if tall else (a, b)
    deep = 20 + (max(rows, default=0) + 1) * step_level - (step_level - (_H if tall else _W))
    wide = 20 + max((len(t) for t in rows.values()), default=1) * step_side - _GAP_Y
    width, height = (wide, deep) if tall else (deep, wide)
    arrow = "arrow-tall" if tall else "arrow-wide"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" class="graph {"tall" if tall else "wide"}" '
        f'role="img" aria-label="{escape(_graph_label(runbook, statuses))}">',
        f'<defs><marker id="{arrow}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#6c757d"/></marker></defs>',
    ]
    for task_id, deps in needs.items():
        for dep in deps:
            if dep in place and task_id in place:
                (x1, y1), (x2, y2) = place[dep], place[task_id]
                if tall:
                    x1, y1, x2 = x1 + _W // 2, y1 + _H, x2 + _W // 2
                else:
                    x1, y1, y2 = x1 + _W, y1 + _H // 2, y2 + _H // 2
                parts.append(
                    f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#6c757d" '
                    f'stroke-width="1.5" marker-end="url(#{arrow})"/>'
                )
    for task in runbook.steps:
        x, y = place[task.id]
        status = statuses.get(task.id, "pending")
        fill = STATUS_FILL.get(status, "#ffffff")
        parts.append(
            f"<g><title>{escape(task.title)} ({escape(task.id)}): {escape(status)}"
            "</title>"
            f'<rect x="{x}" y="{y}" width="{_W}" height="{_H}" rx="8" fill="{fill}" '
            f'stroke="#495057"/>'
            f'<text x="{x + 10}" y="{y + 19}" font-size="13" font-weight="600">'
            f"{escape(task.id[:22])}</text>"
            f'<text x="{x + 10}" y="{y + 36}" font-size="11" fill="#495057">'
            f"{escape(task.type)} · {escape(status)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _graph_label(runbook: Runbook, statuses: Mapping[str, str]) -> str:
    """The graph in words, for a screen reader: each task and its status, in order."""
    tasks = ", ".join(f"{t.id} {statuses.get(t.id, 'pending')}" for t in runbook.steps)
    return f"runbook {runbook.id} task graph: {tasks}"


def bar_chart(
    title: str,
    points: Sequence[tuple[str, float | None]],
    unit: str,
    *,
    color: str,
    ceiling: float | None = None,
) -> str:
    """Bars per period (label, value), each with its value written above it; a missing value
    draws no bar, and a chart with no value at all says so instead of an empty axis.
    `ceiling` fixes the top of the axis (100 for a percentage)."""
    width, height, left, bottom = 480, 220, 56, 30
    values = [v for _, v in points if v is not None]
    top = ceiling or max(values, default=1.0) or 1.0
    step = (width - left - 10) / max(len(points), 1)
    spoken = f"{title}: " + (
        "; ".join(f"{p} {v:.1f}{unit}" for p, v in points if v is not None) or "no data yet"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" '
        f'role="img" aria-label="{escape(spoken)}">',
        f'<text x="4" y="18" font-size="16" font-weight="600" fill="#212529">{escape(title)}'
        "</text>",
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
        'stroke="#adb5bd"/>',
    ]
    if not values:
        parts.append(
            f'<text x="{(width + left) // 2}" y="{(height - bottom + 30) // 2}" font-size="15" '
            'fill="#5c636a" text-anchor="middle">No data in this period yet</text>'
        )
    else:
        most = f"{top:.1f}" if top < 10 else f"{top:.0f}"
        parts.append(
            f'<text x="{left - 6}" y="46" font-size="13" fill="#5c636a" text-anchor="end">'
            f"{most}{escape(unit)}</text>"
        )
    span = height - bottom - 40
    every = max(len(points) // 7, 1)
    for i, (label, value) in enumerate(points):
        x = left + i * step + 2
        if value is not None:
            h = span * value / top
            parts.append(
                f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{max(step - 4, 1):.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{escape(label)}: {value:.1f}'
                f"{escape(unit)}</title></rect>"
            )
            if len(points) <= 31:
                shown = f"{value:.1f}" if value < 10 else f"{value:.0f}"
                parts.append(
                    f'<text x="{x + (step - 4) / 2:.1f}" y="{height - bottom - h - 4:.1f}" '
                    f'font-size="11" fill="#212529" text-anchor="middle">{shown}</text>'
                )
        if (len(points) - 1 - i) % every == 0:  # the newest period always has its label
            parts.append(
                f'<text x="{x:.1f}" y="{height - 8}" font-size="13" fill="#5c636a">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
