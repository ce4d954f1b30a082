"""Entry point: registers every command module, then runs with uniform error handling."""

from __future__ import annotations

import sqlite3
import sys

from sqlalchemy.exc import OperationalError

from baton.cli import (
    audit,
    db,
    demo,
    doctor,
    evals,
    items,
    itsm,
    logs,
    model,
    patterns,
    runbooks,
    runs,
    serve,
    tokens,
    worker,
)
from baton.cli.app import app, options, report
from baton.errors import BatonError, StorageError, flat

runbooks.register(app)
runs.register(app)
items.register(app)
demo.register(app)
audit.register(app)
patterns.register(app)
itsm.register(app)
logs.register(app)
model.register(app)
doctor.register(app)
evals.register(app)
serve.register(app)
tokens.register(app)
db.register(app)
worker.register(app)


def main() -> None:
    """Run the CLI: click handles usage errors and exit codes, we handle Baton's errors."""
    try:
        app()
    except BatonError as exc:
        if options.debug:
            raise
        sys.exit(report(exc))
    except KeyboardInterrupt:
        sys.exit(130)
    except (sqlite3.OperationalError, OperationalError) as exc:
        # The database refused (read-only file, full disk, locked too long): not our bug.
        if options.debug:
            raise
        orig = getattr(exc, "orig", None) or exc
        sys.exit(report(StorageError(f"the database refused: {flat(orig)}")))
    except Exception as exc:
        if options.debug:
            raise
        print(f"error (internal): {type(exc).__name__}: {exc} (run with --debug)", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
