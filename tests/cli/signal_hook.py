"""Run ``calibprune`` with a signal sent to itself at a chosen stage (for the signal tests).

``CALIBPRUNE_TEST_SIGNAL_AT=module:Class.method`` (or ``module:function``) names the stage: the first call of it
sends ``CALIBPRUNE_TEST_SIGNAL`` (``SIGTERM`` or ``SIGINT``) to this process, then runs as usual.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys


def _arm(target: str, signum: int) -> None:
    module_name, _, path = target.partition(":")
    holder = importlib.import_module(module_name)
    *parents, name = path.split(".")
    for parent in parents:
        holder = getattr(holder, parent)
    original = getattr(holder, name)
    fired = []

    @functools.wraps(original)
    def stage(*args, **kwargs):
        if not fired:
            fired.append(True)
            print(f"signal-hook: {signal.Signals(signum).name} at {target}", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signum)
        return original(*args, **kwargs)

    setattr(holder, name, stage)


if __name__ == "__main__":
    _arm(os.environ["CALIBPRUNE_TEST_SIGNAL_AT"], getattr(signal, os.environ.get("CALIBPRUNE_TEST_SIGNAL", "SIGTERM")))
    from calibprune.cli import main

    main(sys.argv[1:])
