"""Twenty processes opening a new home at once all succeed (issue 12 item 2): schema
creation raced in `create_all` and lost `baton run`s to "database is locked"."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from baton.settings import Settings
from baton.store.db import open_database

pytestmark = pytest.mark.integration


def _open(home: str) -> None:
    open_database(Settings(home=Path(home))).close()


@pytest.mark.parametrize("trial", range(3))
def test_concurrent_first_opens_of_a_new_home_all_succeed(tmp_path: Path, trial: int) -> None:
    home = tmp_path / "home"
    context = multiprocessing.get_context("fork")  # no re-import: they start together
    procs = [context.Process(target=_open, args=(str(home),)) for _ in range(20)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * 20
