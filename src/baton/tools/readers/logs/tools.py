"""The read-only log tools agents may call: `logs.search`, `logs.templates`, `logs.compare`.

They read the embedded store (`data_dir/logs`, filled by `baton logs load`) and answer with
one `ToolResult`. Log text is returned as `Quote`s with `logs:<file>:<line>` provenance,
capped in number and length, and flagged `truncated` when anything was cut.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from baton.domain.finding import Quote
from baton.errors import BatonError
from baton.settings import Settings
from baton.tools.readers.base import ReadTool, ToolResult
from baton.tools.readers.logs.args import CompareArgs, SearchArgs, TemplatesArgs
from baton.tools.readers.logs.compare import Shift, minutes, shifts
from baton.tools.readers.logs.corpus import Corpus, CorpusCache, TemplateStats
from baton.tools.readers.logs.store import log_dir

TEMPLATE_QUOTE_LIMIT = 300


def log_tools(source: Settings | Path) -> list[ReadTool]:
    """The three log tools over one store: `Settings` (its `data_dir/logs`) or a directory."""
    directory = log_dir(source.data_dir) if isinstance(source, Settings) else Path(source)
    cache = CorpusCache(directory)
    return [LogSearch(cache), LogTemplates(cache), LogCompare(cache)]


class _LogTool(ABC):
    """Shared envelope handling: argument validation and expected errors become results."""

    name = ""
    description = ""
    args_model: type[BaseModel] = BaseModel

    def __init__(self, cache: CorpusCache) -> None:
        self.cache = cache

    def call(self, args: BaseModel) -> ToolResult:
        try:
            parsed = self.args_model.model_validate(args.model_dump())
            corpus = self.cache.get()
            data, truncated = self._answer(parsed, corpus)
        except ValidationError as exc:
            return ToolResult(tool=self.name, ok=False, error=f"invalid arguments: {exc}")
        except BatonError as exc:
            return ToolResult(tool=self.name, ok=False, error=exc.message)
        return ToolResult(tool=self.name, ok=True, data=data, truncated=truncated)

    @abstractmethod
    def _answer(self, args: Any, corpus: Corpus) -> tuple[dict[str, Any], bool]:
        """The data and whether anything was cut."""


class LogSearch(_LogTool):
    name = "logs.search"
    description = (
        "Find log lines that contain a literal text (case-insensitive), optionally of one "
        "template and within a time window. Returns quoted lines with provenance."
    )
    args_model: type[BaseModel] = SearchArgs

    def _answer(self, args: SearchArgs, corpus: Corpus) -> tuple[dict[str, Any], bool]:
        needle = args.query.casefold()
        if args.window_start is None and args.window_end is None:
            indices: list[int] = list(range(len(corpus)))
        else:
            indices = corpus.window(args.window_start, args.window_end)
        hits: list[dict[str, Any]] = []
        total = 0
        for i in indices:
            if args.template_id and corpus.template_id(i) != args.template_id:
                continue
            rec = corpus.records[i]
            if needle and needle not in rec.message.casefold():
                continue
            total += 1
            if len(hits) < args.limit:
                hits.append(
                    {
                        "ts": _iso(corpus.at[i]),
                        "level": rec.level,
                        "component": rec.component,
                        "template_id": corpus.template_id(i),
                        "quote": Quote.of(rec.provenance, rec.message).model_dump(),
                    }
                )
        return {"matches": total, "lines": hits, "lines_in_store": len(corpus)}, total > len(hits)


class LogTemplates(_LogTool):
    name = "logs.templates"
    description = (
        "Templates (log statements with variables as <*>) seen in a time window, most "
        "frequent first: count, first/last seen, level mix, component, example lines."
    )
    args_model: type[BaseModel] = TemplatesArgs

    def _answer(self, args: TemplatesArgs, corpus: Corpus) -> tuple[dict[str, Any], bool]:
        indices = corpus.window(args.window_start, args.window_end)
        stats = sorted(corpus.stats(indices).values(), key=lambda s: (-s.count, s.id))
        span = minutes(args.window_start, args.window_end)
        shown = [_template(s, span) for s in stats[: args.limit]]
        data = {
            "lines_in_window": len(indices),
            "lines_in_store": len(corpus),
            "templates_in_window": len(stats),
            "templates": shown,
        }
        return data, len(stats) > len(shown)


class LogCompare(_LogTool):
    name = "logs.compare"
    description = (
        "Compare an incident window with a baseline window: templates new in the window, "
        "templates whose per-minute rate surged, and baseline templates whose rate dropped "
        "(or stopped), with per-minute rates, first-seen times and example lines."
    )
    args_model: type[BaseModel] = CompareArgs

    def _answer(self, args: CompareArgs, corpus: Corpus) -> tuple[dict[str, Any], bool]:
        w_idx = corpus.window(args.window_start, args.window_end)
        b_idx = corpus.window(args.baseline_start, args.baseline_end)
        w_min = minutes(args.window_start, args.window_end)
        b_min = minutes(args.baseline_start, args.baseline_end)
        new, surging, dropped = shifts(corpus.stats(w_idx), corpus.stats(b_idx), w_min, b_min)
        span = corpus.span
        data = {
            "window": {"lines": len(w_idx), "minutes": round(w_min, 3)},
            "baseline": {"lines": len(b_idx), "minutes": round(b_min, 3)},
            "store": {
                "lines": len(corpus),
                "timed_lines": corpus.timed,
                "first": _iso(span[0]) if span else None,
                "last": _iso(span[1]) if span else None,
            },
            "new": [_shift(s) for s in new[: args.limit]],
            "surging": [_shift(s) for s in surging[: args.limit]],
            "dropped": [_shift(s) for s in dropped[: args.limit]],
            "counts": {"new": len(new), "surging": len(surging), "dropped": len(dropped)},
        }
        cut = any(len(lst) > args.limit for lst in (new, surging, dropped))
        return data, cut


def _template(stats: TemplateStats, span_minutes: float) -> dict[str, Any]:
    return {
        "template_id": stats.id,
        "template": Quote.of(
            f"logs:template:{stats.id}", stats.template, TEMPLATE_QUOTE_LIMIT
        ).model_dump(),
        "count": stats.count,
        "rate_per_minute": round(stats.count / span_minutes, 4),
        "first_seen": _iso(stats.first),
        "last_seen": _iso(stats.last),
        "levels": dict(stats.levels),
        "severity": stats.severity,
        "component": stats.component,
        "examples": [Quote.of(r.provenance, r.message).model_dump() for r in stats.examples],
    }


def _shift(shift: Shift) -> dict[str, Any]:
    stats = shift.stats
    ratio = shift.ratio
    return {
        **_template(stats, shift.window_minutes),
        "count": shift.count,
        "baseline_count": shift.baseline_count,
        "rate_per_minute": round(shift.rate, 4),
        "baseline_rate_per_minute": round(shift.baseline_rate, 4),
        "ratio": round(ratio, 3) if ratio is not None else None,
        "z": round(shift.z, 2),
    }


def _iso(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when else None
