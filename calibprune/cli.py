"""The ``calibprune`` command (console script, ``python -m calibprune.cli``); parser and jobs: ``command_line/``."""

from __future__ import annotations

import signal
import sys

from lightning.pytorch.utilities.exceptions import SIGTERMException

from calibprune.command_line.app import USER_ERRORS, error_line, run_cli
from calibprune.console import configure_console_logging, quiet_console
from calibprune.files import owner
from calibprune.files.signals import HANDLED, Stopped, raise_if_stopping, stop_on_signals


def main(args: list[str] | None = None) -> None:
    """Run the ``calibprune`` command line.

    Bad input ends with a one-line error and exit status 2; SIGTERM and SIGINT in any stage with 143 and 130.
    Either way the run first removes what it made that a later run cannot use (temp files, its run folder).
    """
    configure_console_logging()
    quiet_console()
    owner.new_run()
    try:
        with stop_on_signals():
            try:
                run_cli(args)
                raise_if_stopping()  # a SIGTERM Lightning's loop held past its last step: still a stop
            except SIGTERMException:  # Lightning's evaluation loop stopping on SIGTERM (a SystemExit with status 0)
                raise Stopped(signal.SIGTERM) from None
            except SystemExit as stop:  # the block loop's stop after its finished block (``SystemExit(143)``)
                if stop.code in {128 + signum for signum in HANDLED} and not isinstance(stop, Stopped):
                    raise Stopped(stop.code - 128) from None
                raise
    except USER_ERRORS as err:
        owner.abandon()
        print(f"calibprune: error: {error_line(err, args)}", file=sys.stderr)
        sys.exit(2)
    except Stopped as stop:
        owner.abandon()
        print(f"calibprune: {stop}", file=sys.stderr)
        sys.exit(stop.code)
    except BaseException:
        owner.abandon()
        raise


if __name__ == "__main__":
    main(sys.argv[1:])
