"""Table API response documents -> raw records per table, validated.

Accepted forms of one JSON document:

1. `{"result": [record, ...]}`: what `GET /api/now/table/<table>` returns. The table is
   given explicitly, or read from the file name: `change_request.json`,
   `cmdb_ci.page2.json`, `task_ci-2024-06.json` (the name, or the name followed by `.`,
   `-` or `_`; `cmdb_ci_server.json` is `cmdb_ci`, whose classes all extend it).
2. `{"result": record}`: what `GET /api/now/table/<table>/<sys_id>` returns (one record).
3. `{"<table>": {"result": [...]}, "<table>": ...}`: several tables in one document, each
   value in form 1 or 2.

Tables: change_request, cmdb_ci, cmdb_rel_ci, task_ci. Records may use the stored-value
form or `sysparm_display_value=all` (see `fields`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from baton.errors import InputError
from baton.tools.readers.itsm.parse import PARSERS
from baton.tools.readers.itsm.records import TABLES

_BY_LENGTH = sorted(TABLES, key=len, reverse=True)


def table_from_filename(path: Path) -> str | None:
    """The table a file's name says it holds, or None."""
    stem = path.name.split(".json")[0] if path.name.endswith(".json") else path.stem
    for table in _BY_LENGTH:
        if stem == table or (stem.startswith(table) and stem[len(table)] in "._-"):
            return table
    return None


def _result_records(value: Any, where: str) -> list[Any]:
    if not isinstance(value, Mapping) or "result" not in value:
        raise InputError(f'{where}: expected a Table API response {{"result": [...]}}')
    result = value["result"]
    if isinstance(result, list):
        return result
    if isinstance(result, Mapping):
        return [result]
    raise InputError(f"{where}: 'result' must be a list of records or one record")


def split_document(doc: Any, source: str, table: str | None = None) -> dict[str, list[Any]]:
    """Raw records of each table in one document (forms 1-3 above), not yet validated.

    `table` names the table of a bare `{"result": ...}` document; `source` names the
    document in errors.
    """
    if table is not None and table not in TABLES:
        raise InputError(f"unknown ITSM table {table!r}; expected one of {', '.join(TABLES)}")
    if not isinstance(doc, Mapping):
        raise InputError(f"{source}: expected a JSON object, got {type(doc).__name__}")
    if "result" in doc:
        if table is None:
            raise InputError(
                f"{source}: a bare Table API response does not say its table; name the file "
                f"after it (e.g. change_request.json), pass --table, or wrap it as "
                f'{{"change_request": {{"result": [...]}}}}'
            )
        return {table: _result_records(doc, source)}
    unknown = [key for key in doc if key not in TABLES]
    if unknown or not doc:
        raise InputError(
            f'{source}: expected {{"result": [...]}} or an object keyed by table '
            f"({', '.join(TABLES)}); unknown key(s): {', '.join(map(str, unknown)) or 'none'}"
        )
    return {name: _result_records(value, f"{source}: {name}") for name, value in doc.items()}


def validate(table: str, records: list[Any]) -> list[dict[str, Any]]:
    """Parse every record (raising `RecordError` on the first bad one); return them as given."""
    parser = PARSERS[table]
    for position, raw in enumerate(records):
        parser(raw, position)
    return [dict(raw) for raw in records]
