"""The ``calibprune`` command (console script, ``python -m calibprune.cli``); parser and jobs: ``command_line/``."""

from __future__ import annotations

import sys

from calibprune.command_line.app import USER_ERRORS, error_line, run_cli
from calibprune.console import configure_console_logging, quiet_console


def main(args: list[str] | None = None) -> None:
    """Run the ``calibprune`` command line; bad input ends with a one-line error and exit status 2."""
    configure_console_logging()
    quiet_console()
    try:
        run_cli(args)
    except USER_ERRORS as err:
        print(f"calibprune: error: {error_line(err, args)}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
