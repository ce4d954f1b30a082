"""The embedded ITSM store: one Table API response file per table under `data_dir/itsm`.

Each stored file is itself a valid `{"result": [...]}` document (records kept as given, so
display values survive), keyed by sys_id: loading a record again replaces it. Records are
validated before anything is written, so a bad file stores nothing. Readers get an
`ItsmIndex`, rebuilt only when a file changed.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baton.errors import ConfigError, InputError
from baton.settings import Settings
from baton.tools.readers.itsm import response
from baton.tools.readers.itsm.index import ItsmIndex
from baton.tools.readers.itsm.parse import (
    parse_change_request,
    parse_ci_relation,
    parse_config_item,
    parse_task_ci,
)
from baton.tools.readers.itsm.records import TABLES


def itsm_dir(settings: Settings) -> Path:
    """Where the embedded ITSM store lives: `$BATON_HOME/data/itsm`."""
    return settings.data_dir / "itsm"


@dataclass(frozen=True)
class TableCount:
    """What one load did to one table."""

    table: str
    received: int
    added: int
    replaced: int
    total: int


def read_files(paths: Sequence[Path], table: str | None = None) -> dict[str, list[Any]]:
    """Read and validate Table API documents; raw records per table, in file order.

    `table` names the table of bare `{"result": ...}` files whose name does not say it.
    Raises `InputError` (file unreadable or not JSON, unknown form) or `RecordError`.
    """
    batches: dict[str, list[Any]] = {}
    for path in paths:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: file does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read: {exc}") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON: {exc}") from None
        found = response.split_document(doc, str(path), table or response.table_from_filename(path))
        for name, records in found.items():
            try:
                batches.setdefault(name, []).extend(response.validate(name, records))
            except InputError as exc:
                raise InputError(f"{path}: {exc.message}") from None
    return batches


class ItsmStore:
    """Table files under one directory; readers and the loader share it, nothing else."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._index: ItsmIndex | None = None
        self._stamp: tuple[tuple[int, int, int], ...] | None = None

    def path(self, table: str) -> Path:
        if table not in TABLES:
            raise InputError(f"unknown ITSM table {table!r}; expected one of {', '.join(TABLES)}")
        return self.root / f"{table}.json"

    def records(self, table: str) -> list[dict[str, Any]]:
        """Stored raw records of one table (empty when nothing was loaded)."""
        path = self.path(table)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise InputError(f"ITSM store file {path} is unreadable: {exc}") from None
        return response.split_document(doc, str(path), table)[table]

    def put(self, batches: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[TableCount]:
        """Store validated raw records, replacing any with the same sys_id; counts per table."""
        counts = []
        for table in TABLES:
            if table not in batches:
                continue
            stored = {_sys_id(raw): raw for raw in self.records(table)}
            before = set(stored)
            incoming = {_sys_id(raw): dict(raw) for raw in batches[table]}
            stored.update(incoming)
            self._write(table, list(stored.values()))
            counts.append(
                TableCount(
                    table=table,
                    received=len(batches[table]),
                    added=len(incoming.keys() - before),
                    replaced=len(incoming.keys() & before),
                    total=len(stored),
                )
            )
        return counts

    def index(self) -> ItsmIndex:
        """Parsed records of every table, cached until a table file changes."""
        stamp = tuple(_stamp(self.path(table)) for table in TABLES)
        if self._index is None or stamp != self._stamp:
            self._index = ItsmIndex(
                changes=[parse_change_request(r, i) for i, r in _numbered(self, "change_request")],
                cis=[parse_config_item(r, i) for i, r in _numbered(self, "cmdb_ci")],
                relations=[parse_ci_relation(r, i) for i, r in _numbered(self, "cmdb_rel_ci")],
                task_cis=[parse_task_ci(r, i) for i, r in _numbered(self, "task_ci")],
            )
            self._stamp = stamp
        return self._index

    def _write(self, table: str, records: list[dict[str, Any]]) -> None:
        """Write atomically: a reader sees the old file or the new one, never half of it."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{table}.", suffix=".tmp")
        except OSError as exc:
            raise ConfigError(f"cannot write the ITSM store in {self.root}: {exc}") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"result": records}, out, indent=1, sort_keys=True)
            os.replace(tmp, self.path(table))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _numbered(store: ItsmStore, table: str) -> list[tuple[int, dict[str, Any]]]:
    return list(enumerate(store.records(table)))


def _sys_id(raw: Mapping[str, Any]) -> str:
    value = raw["sys_id"]
    return str(value["value"] if isinstance(value, Mapping) else value)


def _stamp(path: Path) -> tuple[int, int, int]:
    """Changes whenever a table file is rewritten (each write is a new inode)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return (0, 0, 0)
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)
