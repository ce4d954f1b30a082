"""Errors a person reads are one line, and name what they know (a field, a variable)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from baton.errors import ConfigError, one_line
from baton.policies.freeze import load_calendar
from baton.policies.people import load_directory
from baton.settings import get_settings
from baton.store.db import ensure_home


class _Shape(BaseModel):
    n: int
    items: list[int]


def _error(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        _Shape.model_validate(data)
    return caught.value


def test_one_line_lists_each_problem_with_its_place() -> None:
    text = one_line(_error({"n": "x", "items": [1, "y"]}), name=lambda f: f"field '{f}'")
    assert "\n" not in text
    assert "field 'n': Input should be a valid integer" in text
    assert "field 'items.1': Input should be a valid integer" in text
    assert one_line(_error([]), top="(arguments)").startswith("(arguments): ")


def test_one_line_says_how_many_it_left_out() -> None:
    assert one_line(_error({"items": ["a", "b", "c"]}), limit=2).endswith("; and 2 more")


def test_a_bad_setting_names_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_RETRY_BACKOFF_SECONDS", "abc")
    with pytest.raises(ConfigError, match=r"^invalid setting: BATON_RETRY_BACKOFF_SECONDS: "):
        get_settings()


@pytest.mark.parametrize(
    ("load", "text"),
    [
        (load_directory, "people: {alice: sre}\n"),
        (load_directory, "people: {alice: [sre\n"),
        (load_calendar, "windows: [{start: yesterday\n"),
        (load_calendar, "nonsense: 1\n"),
    ],
)
def test_bad_policy_files_are_one_line_config_errors(tmp_path: Path, load: object, text: str):
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(path)  # type: ignore[operator]
    assert str(path) in caught.value.message and "\n" not in caught.value.message


def test_a_home_that_is_a_file_is_named_as_such(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("")
    with pytest.raises(ConfigError, match="is not a directory"):
        ensure_home(home)
