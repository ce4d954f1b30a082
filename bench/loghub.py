"""Template-mining grouping accuracy and throughput on the 16 LogHub-2k datasets.

Grouping accuracy (GA) follows Zhu et al. 2019 ("Tools and Benchmarks for Automated Log
Parsing"): a message counts as correctly parsed iff the set of messages in its predicted group
equals the set in its ground-truth group. Ground truth is `EventId` of
`*_structured_corrected.csv` when present, else `*_structured.csv`; the message is `Content`.
One miner configuration for every dataset; a message's group is its final template. Lines/s
times `TemplateMiner.assign` (masking included), best of `--repeat` runs on a fresh miner.
`GA raw` mines the raw `*_2k.log` lines instead, through Baton's own line parser (timestamp,
level and component stripped by `baton.tools.readers.logs.lines`), as `baton logs templates`
does: the end-to-end figure, where header parsing errors count against us.

    python bench/loghub.py [--root ../shared/loghub] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from baton.tools.readers.logs.lines import parse_lines
from baton.tools.readers.logs.miner import TemplateMiner

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "loghub"


@dataclass(frozen=True)
class Dataset:
    name: str
    messages: list[str]
    truth: list[str]
    raw: list[str]


@dataclass(frozen=True)
class Score:
    name: str
    lines: int
    ga: float
    seconds: float
    raw_ga: float

    @property
    def rate(self) -> float:
        return self.lines / self.seconds


def load(folder: Path) -> Dataset:
    """One dataset's messages and ground-truth event ids, in file order."""
    name = folder.name
    path = folder / f"{name}_2k.log_structured_corrected.csv"
    if not path.exists():
        path = folder / f"{name}_2k.log_structured.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    raw_path = folder / f"{name}_2k.log"
    raw = raw_path.read_text(encoding="utf-8", errors="replace").splitlines()
    return Dataset(name, [r["Content"] for r in rows], [r["EventId"] for r in rows], raw)


def datasets(root: Path) -> list[Dataset]:
    found = sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*_structured.csv")))
    if not found:
        raise SystemExit(f"no LogHub datasets under {root}")
    return [load(p) for p in found]


def grouping_accuracy(predicted: Sequence[object], truth: Sequence[object]) -> float:
    """Share of messages whose predicted group is exactly their ground-truth group."""
    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predictions for {len(truth)} messages")
    if not truth:
        return 1.0
    truth_sizes = Counter(truth)
    groups: dict[object, list[int]] = defaultdict(list)
    for i, group in enumerate(predicted):
        groups[group].append(i)
    correct = 0
    for members in groups.values():
        events = {truth[i] for i in members}
        if len(events) == 1 and truth_sizes[truth[members[0]]] == len(members):
            correct += len(members)
    return correct / len(truth)


def mine(messages: Sequence[str]) -> tuple[list[str], float]:
    """The template each message ends up with, and the seconds mining took (fresh miner)."""
    miner = TemplateMiner()
    start = time.perf_counter()
    templates = miner.assign(messages)
    return templates, time.perf_counter() - start


def score(data: Dataset, repeat: int = 1) -> Score:
    ids, seconds = mine(data.messages)
    for _ in range(repeat - 1):
        seconds = min(seconds, mine(data.messages)[1])
    raw = [r.message for r in parse_lines(data.raw, data.name, year=2000)]
    raw_ga = (
        grouping_accuracy(TemplateMiner().assign(raw), data.truth)
        if len(raw) == len(data.truth)
        else 0.0
    )
    ga = grouping_accuracy(ids, data.truth)
    return Score(data.name, len(data.messages), ga, seconds, raw_ga)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scores = [score(d, args.repeat) for d in datasets(args.root)]
    print(f"{'dataset':<12} {'lines':>6} {'GA':>6} {'GA raw':>7} {'lines/s':>10}")
    for s in scores:
        print(f"{s.name:<12} {s.lines:>6} {s.ga:>6.3f} {s.raw_ga:>7.3f} {s.rate:>10,.0f}")
    lines = sum(s.lines for s in scores)
    seconds = sum(s.seconds for s in scores)
    mean_ga = sum(s.ga for s in scores) / len(scores)
    mean_raw = sum(s.raw_ga for s in scores) / len(scores)
    print(f"{'overall':<12} {lines:>6} {mean_ga:>6.3f} {mean_raw:>7.3f} {lines / seconds:>10,.0f}")
    print(f"mean_ga={mean_ga:.4f} mean_ga_raw={mean_raw:.4f} lines_per_s={lines / seconds:.0f}")


if __name__ == "__main__":
    main()
