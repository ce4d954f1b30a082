"""The loaded logs in memory: every record with its effective time and mined template.

One miner runs over all stored files in load order, so a template has one id across files
and windows. A line without a readable time (a stack-trace continuation) takes the time of
the line before it in the same file. `CorpusCache` reloads when the store's manifest changes.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from baton.tools.readers.logs.miner import TemplateMiner, template_id
from baton.tools.readers.logs.record import LogRecord
from baton.tools.readers.logs.severity import severity
from baton.tools.readers.logs.store import MANIFEST, manifest, read_records

EXAMPLES = 3
"""Example lines kept per template."""


@dataclass
class TemplateStats:
    """One template's lines within some window."""

    id: str
    template: str
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    levels: Counter[str] = field(default_factory=Counter)
    components: Counter[str] = field(default_factory=Counter)
    examples: list[LogRecord] = field(default_factory=list)

    @property
    def severity(self) -> str:
        return severity(self.levels, self.template)

    @property
    def component(self) -> str | None:
        top = self.components.most_common(1)
        return top[0][0] if top else None


class Corpus:
    """Records of all stored files, indexed by effective time, with their templates."""

    def __init__(self, records: list[LogRecord]) -> None:
        self.records = records
        texts = TemplateMiner().assign(r.message for r in records)
        self.templates = texts
        self.at: list[datetime | None] = []
        previous: tuple[str, datetime | None] = ("", None)
        for rec in records:
            if rec.source != previous[0]:
                previous = (rec.source, None)
            when = rec.ts or previous[1]
            self.at.append(when)
            previous = (rec.source, when)
        timed = sorted((when, i) for i, when in enumerate(self.at) if when is not None)
        self._order = [i for _, i in timed]
        self._times = [when for when, _ in timed]
        self._ids: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.records)

    @property
    def timed(self) -> int:
        """Records that have an effective time."""
        return len(self._order)

    @property
    def span(self) -> tuple[datetime, datetime] | None:
        return (self._times[0], self._times[-1]) if self._times else None

    def template_id(self, index: int) -> str:
        text = self.templates[index]
        found = self._ids.get(text)
        if found is None:
            found = self._ids[text] = template_id(text)
        return found

    def window(self, start: datetime | None, end: datetime | None) -> list[int]:
        """Indices of records whose effective time is in [start, end), in time order."""
        lo = 0 if start is None else bisect.bisect_left(self._times, start)
        hi = len(self._times) if end is None else bisect.bisect_left(self._times, end)
        return self._order[lo:hi]

    def stats(self, indices: list[int]) -> dict[str, TemplateStats]:
        """Per-template counts, first/last seen, level and component mix, examples."""
        out: dict[str, TemplateStats] = {}
        for i in indices:
            tid = self.template_id(i)
            st = out.get(tid)
            if st is None:
                st = out[tid] = TemplateStats(tid, self.templates[i])
            rec = self.records[i]
            when = self.at[i]
            st.count += 1
            if when is not None:
                st.first = when if st.first is None or when < st.first else st.first
                st.last = when if st.last is None or when > st.last else st.last
            if rec.level:
                st.levels[rec.level] += 1
            if rec.component:
                st.components[rec.component] += 1
            if len(st.examples) < EXAMPLES:
                st.examples.append(rec)
        return out


class CorpusCache:
    """The corpus of one store directory, rebuilt only when its manifest changes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._stamp: tuple[int, int] | None = None
        self._corpus: Corpus | None = None

    def get(self) -> Corpus:
        path = self.directory / MANIFEST
        try:
            info = path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
        except FileNotFoundError:
            stamp = (0, 0)
        if self._corpus is None or stamp != self._stamp:
            records: list[LogRecord] = []
            for entry in manifest(self.directory):
                records.extend(read_records(self.directory, entry))
            self._corpus = Corpus(records)
            self._stamp = stamp
        return self._corpus
