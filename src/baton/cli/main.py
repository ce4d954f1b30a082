"""Entry point: registers every command module, then runs with uniform error handling."""

from __future__ import annotations

import sys

from baton.cli import demo, items, runbooks, runs
from baton.cli.app import app, options, report
from baton.errors import BatonError

runbooks.register(app)
runs.register(app)
items.register(app)
demo.register(app)


def main() -> None:
    try:
        app(standalone_mode=False)
    except BatonError as exc:
        if options.debug:
            raise
        sys.exit(report(exc))
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click's own usage errors land here too
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        if options.debug:
            raise
        print(f"error (internal): {type(exc).__name__}: {exc} (run with --debug)", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
