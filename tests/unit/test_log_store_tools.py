"""The log store and the logs.* tools over a synthetic service incident."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from baton.errors import InputError
from baton.settings import Settings
from baton.tools.readers.base import ToolResult
from baton.tools.readers.logs.store import load_file, log_dir, manifest
from baton.tools.readers.logs.tools import log_tools
from tests.unit.logfixtures import DETECTED, END, INJECTION, ONSET, START, write_service_logs


@pytest.fixture
def store(tmp_path: Path) -> Path:
    directory = tmp_path / "data" / "logs"
    for path in write_service_logs(tmp_path / "src"):
        load_file(directory, path)
    return directory


def run(directory: Path, name: str, **args: Any) -> ToolResult:
    tool = {t.name: t for t in log_tools(directory)}[name]
    return tool.call(tool.args_model.model_validate(args))


def iso(t: Any) -> str:
    return t.isoformat()


def test_loading_the_same_file_twice_stores_it_once(tmp_path: Path) -> None:
    directory = tmp_path / "logs"
    checkout, _ = write_service_logs(tmp_path / "src")
    first = load_file(directory, checkout)
    assert first.status == "loaded"
    assert first.file.lines == first.file.with_ts > 600
    assert (first.file.first, first.file.last) == (START, first.file.last)
    copy = tmp_path / "elsewhere.log"
    copy.write_bytes(checkout.read_bytes())
    assert load_file(directory, checkout).status == "unchanged"
    assert load_file(directory, copy).status == "unchanged"
    assert len(manifest(directory)) == 1
    checkout.write_text(checkout.read_text() + "2026-03-02 11:00:01,000 INFO [x] a: late\n")
    again = load_file(directory, checkout)
    assert again.status == "replaced" and again.file.lines == first.file.lines + 1
    assert [f.source for f in manifest(directory)] == ["checkout.log"]
    assert len(list(directory.glob("*.jsonl"))) == 1


def test_a_different_file_with_a_taken_name_gets_its_own_source(tmp_path: Path) -> None:
    directory = tmp_path / "logs"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "app.log").write_text("2026-01-01 00:00:00 INFO x: one\n")
    (tmp_path / "b" / "app.log").write_text("2026-01-01 00:00:00 INFO x: two\n")
    load_file(directory, tmp_path / "a" / "app.log")
    second = load_file(directory, tmp_path / "b" / "app.log")
    assert second.file.source.startswith("app.log#")


def test_missing_file_is_an_input_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.log"):
        load_file(tmp_path / "logs", tmp_path / "nope.log")


def test_search_quotes_lines_with_provenance(store: Path) -> None:
    result = run(
        store, "logs.search", query="REFUSED", window_start=iso(ONSET), window_end=iso(END), limit=5
    )
    assert result.ok and result.truncated
    assert result.data["matches"] > 5 and len(result.data["lines"]) == 5
    quote = result.data["lines"][0]["quote"]
    assert quote["source"].startswith("logs:payments.jsonl:")
    assert "refused" in quote["text"]
    before = run(store, "logs.search", query="refused", window_end=iso(ONSET))
    assert before.ok and before.data["matches"] == 0


def test_search_text_is_literal_not_a_regex(store: Path) -> None:
    result = run(store, "logs.search", query="(.*")
    assert result.ok and result.data["matches"] == 0
    hit = run(store, "logs.search", query="(order")
    assert hit.ok and hit.data["matches"] > 0


def test_templates_in_window_with_counts_levels_and_examples(store: Path) -> None:
    result = run(store, "logs.templates", window_start=iso(ONSET), window_end=iso(END), limit=2)
    assert result.ok and result.truncated
    data = result.data
    assert data["templates_in_window"] > 2 and len(data["templates"]) == 2
    counts = [t["count"] for t in data["templates"]]
    assert counts == sorted(counts, reverse=True)
    top = data["templates"][0]
    assert set(top) >= {"template_id", "template", "first_seen", "last_seen", "levels", "component"}
    assert top["examples"] and top["examples"][0]["source"].startswith("logs:")


def test_compare_finds_the_new_error_and_the_surging_warning(store: Path) -> None:
    result = run(
        store,
        "logs.compare",
        window_start=iso(DETECTED - timedelta(minutes=15)),
        window_end=iso(END),
        baseline_start=iso(START),
        baseline_end=iso(DETECTED - timedelta(minutes=15)),
    )
    assert result.ok
    new = {t["template"]["text"]: t for t in result.data["new"]}
    refused = new["connection to db-primary:<*> refused after <*> retries (order <*>)"]
    assert refused["severity"] == "error" and refused["component"] == "payments.db"
    assert refused["baseline_count"] == 0
    assert refused["first_seen"] >= iso(ONSET).replace("+00:00", "Z")
    surging = {t["template"]["text"]: t for t in result.data["surging"]}
    slow = surging["slow upstream payments took <*> ms"]
    assert slow["ratio"] > 2 and slow["rate_per_minute"] > slow["baseline_rate_per_minute"]
    dropped = {t["template"]["text"]: t for t in result.data["dropped"]}
    charged = dropped["charged order <*> amount <*> EUR"]  # payments stopped charging
    assert charged["rate_per_minute"] < charged["baseline_rate_per_minute"] / 2
    assert "health check ok" not in dropped  # steady, so not a shift


def test_bad_arguments_and_empty_store_are_results_not_exceptions(tmp_path: Path) -> None:
    tools = {t.name: t for t in log_tools(Settings(home=tmp_path / "home"))}
    tool = tools["logs.compare"]
    args = tool.args_model.model_construct(
        window_start=END, window_end=START, baseline_start=START, baseline_end=END, limit=5
    )
    bad = tool.call(args)
    assert not bad.ok and bad.error and "window_start" in bad.error
    empty = tools["logs.templates"].call(
        tools["logs.templates"].args_model.model_validate(
            {"window_start": iso(START), "window_end": iso(END)}
        )
    )
    assert empty.ok and empty.data["lines_in_store"] == 0 and empty.data["templates"] == []
    assert log_dir(Settings(home=tmp_path / "home").data_dir) == tmp_path / "home" / "data" / "logs"


def test_hostile_text_only_appears_as_quotes(store: Path) -> None:
    result = run(store, "logs.search", query="IGNORE ALL", limit=5)
    assert result.ok and result.data["matches"] == 1
    line = result.data["lines"][0]
    assert line["quote"]["text"].endswith(INJECTION)
    assert INJECTION not in json.dumps({k: v for k, v in line.items() if k != "quote"})
