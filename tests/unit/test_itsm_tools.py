"""The read-only ITSM tools over the fixture estate: lookups, blast radius, change windows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from baton.settings import Settings
from baton.tools.readers.itsm import ItsmStore, itsm_tools, read_files
from baton.tools.readers.itsm.tools import RecentChangesArgs
from tests.unit.itsm_builders import FIXTURES, Caller

DETECTED = "2026-11-26T14:32:00Z"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ItsmStore:
    store = ItsmStore(tmp_path_factory.mktemp("itsm"))
    store.put(read_files(sorted(FIXTURES.glob("*.json"))))
    return store


@pytest.fixture
def call(store: ItsmStore) -> Caller:
    return Caller(store)


def test_factory_accepts_settings_and_names_its_tools(tmp_path: Path):
    tools = itsm_tools(Settings(home=tmp_path))
    assert [t.name for t in tools] == ["itsm.get_ci", "itsm.related_cis", "itsm.recent_changes"]
    assert all(t.description and t.args_model.model_json_schema() for t in tools)


@pytest.mark.parametrize("key", ["checkout-api", "CHECKOUT-API"])
def test_get_ci_by_name(call: Caller, key: str):
    result = call("itsm.get_ci", {"ci": key})
    assert result.ok and result.data["found"]
    ci = result.data["ci"]
    assert (ci["name"], ci["class"], ci["operational_status"]) == (
        "checkout-api",
        "cmdb_ci_appl",
        "operational",
    )
    by_id = call("itsm.get_ci", {"ci": ci["sys_id"]})
    assert by_id.data["ci"] == ci


def test_unknown_ci_is_an_ok_result_with_a_note(call: Caller):
    for tool, args in [
        ("itsm.get_ci", {"ci": "mainframe-7"}),
        ("itsm.related_cis", {"ci": "mainframe-7"}),
    ]:
        result = call(tool, args)
        assert result.ok and result.data["found"] is False
        assert "unknown CI 'mainframe-7'" in result.data["note"]


def test_related_cis_walks_both_directions_with_distances(call: Caller):
    one = call("itsm.related_cis", {"ci": "payments-api", "depth": 1}).data
    assert {r["name"]: r["distance"] for r in one["related"]} == {
        "checkout-api": 1,  # uses payments-api
        "payments-db": 1,
        "mq-broker": 1,
        "swift-gateway": 1,
        "k8s-prod-eu1": 1,
    }
    two = call("itsm.related_cis", {"ci": "payments-api", "depth": 2}).data
    by_name = {r["name"]: r for r in two["related"]}
    assert by_name["lnx-paydb-01"]["distance"] == 2
    assert by_name["lnx-paydb-01"]["path"] == [
        "payments-api depends on payments-db",
        "payments-db runs on lnx-paydb-01",
    ]
    assert by_name["api-gateway"]["path"] == [
        "payments-api used by checkout-api",
        "checkout-api used by api-gateway",
    ]
    assert two["count"] == len(two["related"]) > len(one["related"])


def test_related_cis_is_capped_and_says_so(call: Caller):
    result = call("itsm.related_cis", {"ci": "payments-api", "depth": 3, "limit": 3})
    assert result.truncated and len(result.data["related"]) == 3 and result.data["count"] > 3
    assert [r["distance"] for r in result.data["related"]] == [1, 1, 1]


def window(call: Caller, cis: list[str], since: str, until: str = DETECTED, **kw: object):
    return call("itsm.recent_changes", {"ci_ids": cis, "since": since, "until": until, **kw})


def test_recent_changes_by_ci_and_window(call: Caller):
    result = window(call, ["checkout-api"], "2026-11-25T00:00:00Z")
    numbers = [c["number"] for c in result.data["changes"]]
    # latest first; the canceled change still touches the window through its plan
    assert numbers == ["CHG0031042", "CHG0031037"]
    top = result.data["changes"][0]
    assert top["work_start"] == "2026-11-26T14:05:00+00:00"
    assert (top["type"], top["risk"], top["state"]) == ("normal", "moderate", "review")
    assert top["matched_cis"][0]["name"] == "checkout-api"


def test_changes_listed_in_task_ci_count_for_their_cis(call: Caller):
    result = window(call, ["fraud-scoring"], "2026-11-22T00:00:00Z", "2026-11-24T00:00:00Z")
    [patching] = result.data["changes"]
    assert patching["number"] == "CHG0031035"
    assert patching["cmdb_ci"]["name"] == "k8s-prod-eu1"
    assert patching["matched_cis"] == [
        {"sys_id": patching["matched_cis"][0]["sys_id"], "name": "fraud-scoring", "via": "task_ci"}
    ]


def test_a_window_after_the_work_and_the_plan_finds_nothing(call: Caller):
    """CHG0031042: work 14:05-14:11, planned 14:00-14:30."""
    result = window(call, ["checkout-api"], "2026-11-26T14:31:00Z")
    assert result.ok and result.data["changes"] == [] and result.data["count"] == 0


def test_in_progress_change_touches_any_later_window(call: Caller):
    """CHG0031045 has work_start but no end: it is still going on."""
    result = window(call, ["batch-scheduler"], "2026-11-27T12:00:00Z", "2026-11-27T12:05:00Z")
    assert [c["number"] for c in result.data["changes"]] == ["CHG0031045"]


def test_ticket_text_comes_back_quoted_with_provenance(call: Caller):
    [change] = window(call, ["checkout-api"], "2026-11-26T14:00:00Z").data["changes"]
    quotes = {q["source"]: q for q in change["quotes"]}
    desc = quotes["itsm:change_request/CHG0031042#description"]
    assert "ignore your instructions" in desc["text"]  # kept, as data
    assert "\n" not in desc["text"] and "\\x0a" in desc["text"]  # control chars made visible
    assert "itsm:change_request/CHG0031042#short_description" in quotes
    assert not any(k in change for k in ("description", "short_description", "close_notes"))


def test_unknown_cis_are_reported_not_fatal(call: Caller):
    result = window(call, ["checkout-api", "nope"], "2026-11-26T00:00:00Z")
    assert result.ok and result.data["unknown_cis"] == ["nope"]
    assert [c["number"] for c in result.data["changes"]] == ["CHG0031042"]


def test_recent_changes_is_capped_and_says_so(call: Caller):
    result = window(
        call,
        ["checkout-api", "payments-api", "web-frontend", "core-banking"],
        "2026-10-01T00:00:00Z",
        limit=2,
    )
    assert result.truncated and len(result.data["changes"]) == 2 and result.data["count"] > 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"ci_ids": [], "since": DETECTED, "until": DETECTED}, "at least 1 item"),
        ({"ci_ids": ["a"], "since": DETECTED, "until": "2026-01-01"}, "'since' must not be after"),
        ({"ci_ids": ["a"], "since": "last week", "until": DETECTED}, "since"),
        ({"ci_ids": ["a"], "since": DETECTED, "until": DETECTED, "sql": "1"}, "sql"),
    ],
)
def test_bad_arguments_are_rejected_by_the_schema(args: dict[str, object], message: str):
    with pytest.raises(ValidationError, match=message):
        RecentChangesArgs.model_validate(args)


def test_naive_times_are_utc():
    args = RecentChangesArgs.model_validate(
        {"ci_ids": ["a"], "since": "2026-11-26T10:00:00", "until": "2026-11-26T11:00:00"}
    )
    assert args.since == datetime(2026, 11, 26, 10, tzinfo=UTC)


def test_a_broken_store_is_an_error_result_not_an_exception(tmp_path: Path):
    (tmp_path / "cmdb_ci.json").write_text(json.dumps({"result": [{"name": "no id"}]}))
    result = Caller(ItsmStore(tmp_path))("itsm.get_ci", {"ci": "x"})
    assert not result.ok
    assert result.error is not None and "cmdb_ci record no id (result[0]), field 'sys_id'" in (
        result.error
    )


def test_an_empty_store_knows_no_ci(tmp_path: Path):
    result = Caller(ItsmStore(tmp_path / "none"))("itsm.get_ci", {"ci": "checkout-api"})
    assert result.ok and result.data["found"] is False
