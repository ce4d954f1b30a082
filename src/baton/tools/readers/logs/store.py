"""The embedded log store: parsed, normalised copies of loaded files under `data_dir/logs`.

`load_file` parses a file once and writes its records as JSON lines, plus an entry in
`manifest.json`. The same content loaded again (from any path) is recognised by its SHA-256
and not stored twice; a file at the same path whose content changed replaces its old copy.
Tools read the store and never the original files.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from pydantic import BaseModel, Field

from baton.errors import InputError
from baton.tools.readers.logs.lines import parse_lines
from baton.tools.readers.logs.record import LogRecord

MANIFEST = "manifest.json"


class StoredFile(BaseModel):
    """One loaded file: where it came from and what was read from it."""

    source: str = Field(description="Name used in provenance: logs:<source>:<line>.")
    origin: str = Field(description="Absolute path the file was loaded from.")
    sha256: str
    stored: str = Field(description="File name of the normalised copy in the store.")
    lines: int
    with_ts: int = Field(description="Lines whose timestamp could be read.")
    first: datetime | None = None
    last: datetime | None = None
    loaded_at: datetime


class LoadResult(BaseModel):
    """What `baton logs load` reports per file."""

    file: StoredFile
    status: str = Field(description="'loaded', 'replaced' or 'unchanged'.")


def log_dir(data_dir: Path) -> Path:
    return data_dir / "logs"


def manifest(directory: Path) -> list[StoredFile]:
    """The files in the store at `directory` (a `data_dir/logs` folder), oldest first."""
    path = directory / MANIFEST
    if not path.exists():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return [StoredFile.model_validate(item) for item in raw]
    except (ValueError, TypeError) as exc:
        raise InputError(f"log store manifest {path} is unreadable: {exc}") from exc


def load_file(directory: Path, path: Path, now: datetime | None = None) -> LoadResult:
    """Parse `path` into the store at `directory`; idempotent for unchanged content."""
    now = now or datetime.now(UTC)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read log file {path}: {exc.strerror or exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    origin = str(path.resolve())
    files = manifest(directory)
    for known in files:
        if known.sha256 == digest:
            return LoadResult(file=known, status="unchanged")
    previous = next((f for f in files if f.origin == origin), None)
    source = previous.source if previous else _unique_source(path.name, digest, files)
    stored = f"{digest[:16]}.jsonl"
    text = data.decode("utf-8", errors="replace")
    records = parse_lines(text.splitlines(), source, year=now.year, now=now)
    directory.mkdir(parents=True, exist_ok=True)
    entry = _write_records(directory / stored, records, source, origin, digest, stored, now)
    kept = [f for f in files if f is not previous]
    _write_manifest(directory, [*kept, entry])
    if previous is not None:
        (directory / previous.stored).unlink(missing_ok=True)
    return LoadResult(file=entry, status="replaced" if previous else "loaded")


def read_records(directory: Path, entry: StoredFile) -> Iterator[LogRecord]:
    """The stored records of one file, in line order."""
    path = directory / entry.stored
    try:
        with path.open(encoding="utf-8") as fh:
            for raw in fh:
                item = json.loads(raw)
                ts = item["ts"]
                yield LogRecord(
                    source=entry.source,
                    line=item["n"],
                    ts=datetime.fromisoformat(ts) if ts else None,
                    level=item["level"],
                    component=item["component"],
                    message=item["message"],
                )
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"log store file {path} is unreadable: {exc}") from exc


def _unique_source(name: str, digest: str, files: list[StoredFile]) -> str:
    taken = {f.source for f in files}
    return name if name not in taken else f"{name}#{digest[:8]}"


def _write_records(
    target: Path,
    records: Iterator[LogRecord],
    source: str,
    origin: str,
    digest: str,
    stored: str,
    now: datetime,
) -> StoredFile:
    lines = with_ts = 0
    first: datetime | None = None
    last: datetime | None = None
    with _atomic(target) as fh:
        for rec in records:
            lines += 1
            if rec.ts is not None:
                with_ts += 1
                first = rec.ts if first is None or rec.ts < first else first
                last = rec.ts if last is None or rec.ts > last else last
            item = {
                "n": rec.line,
                "ts": rec.ts.isoformat() if rec.ts else None,
                "level": rec.level,
                "component": rec.component,
                "message": rec.message,
            }
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    return StoredFile(
        source=source,
        origin=origin,
        sha256=digest,
        stored=stored,
        lines=lines,
        with_ts=with_ts,
        first=first,
        last=last,
        loaded_at=now,
    )


def _write_manifest(directory: Path, files: list[StoredFile]) -> None:
    with _atomic(directory / MANIFEST) as fh:
        json.dump([f.model_dump(mode="json") for f in files], fh, indent=1)


@contextmanager
def _atomic(target: Path) -> Iterator[TextIO]:
    """Write to a temporary file beside `target`, then rename: readers never see half."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yield fh
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
