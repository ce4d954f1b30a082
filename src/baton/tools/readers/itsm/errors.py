"""Errors for bad ITSM records: each names the table, the record and the field."""

from __future__ import annotations

from baton.errors import InputError


class FieldError(ValueError):
    """One field value is unusable; the record parser adds which record and field."""


class RecordError(InputError):
    """A Table API record cannot be used; the message names table, record and field."""

    code = "itsm_record_invalid"

    def __init__(self, table: str, record: str, field: str | None, problem: str) -> None:
        where = f"{table} record {record}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {problem}")
        self.table = table
        self.record = record
        self.field = field
