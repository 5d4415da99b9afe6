"""SIGTERM and SIGINT, the same in every subcommand and stage: stop, remove what the run made, exit 143 or 130.

Outside Lightning's loops the signal raises :class:`Stopped` at once, so every ``finally`` and cleanup runs (the
save target's lock, the run folder, temp files; ``--resume``'s work directory is kept). Inside them Lightning
records a SIGTERM for its loops to act on (the block loop stops after the finished block, an evaluation after its
batch); the stop is only remembered here then, and raised (:func:`raise_if_stopping`) before a model is saved and
when the command ends, so that a run told to stop never ends with status 0.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HANDLED = (signal.SIGTERM, signal.SIGINT)
_pending: int | None = None


class Stopped(SystemExit):
    """The run was told to stop by a signal; exits ``128 + signum`` (143 for SIGTERM, 130 for SIGINT).

    A ``SystemExit``, not a ``KeyboardInterrupt``: Lightning turns the latter into exit status 1.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum

    def __str__(self) -> str:
        return f"stopped by {signal.Signals(self.signum).name}"


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    global _pending
    if signal.getsignal(signum) is not _on_signal:  # called by Lightning's handler: its loop stops at its next step
        _pending = signum
        return
    raise Stopped(signum)


def raise_if_stopping() -> None:
    """Raise :class:`Stopped` when a signal arrived while Lightning's loop held it (before anything is replaced)."""
    if _pending is not None:
        raise Stopped(_pending)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into :class:`Stopped` for the block; the former handlers come back after it."""
    global _pending
    _pending = None
    try:
        previous = {signum: signal.signal(signum, _on_signal) for signum in HANDLED}
    except ValueError:  # not the main thread: signals cannot be handled here, the caller's handlers stay
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _pending = None
