"""``.<name>.lock`` next to a save target, held for a whole run so that two runs never write the same target."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from calibprune.errors import OptionError
from calibprune.files import owner
from calibprune.files.owner import refuse

LOCK_TEXT = "calibprune pid "


def lock_file(path: Path) -> Path:
    """The lock file of the save target ``path``."""
    return path.with_name(f".{path.name}.lock")


def _held_by(text: str) -> str:
    return text.removeprefix(LOCK_TEXT).strip() or "?"


@contextmanager
def hold_lock(path: str | Path, parameter: str) -> Iterator[None]:
    """Hold the lock of ``path`` for the block; taking it also removes the temp folders a killed run left there.

    Raises:
        OptionError: naming ``parameter`` when another live run holds the lock, or the lock's name is a user's file.
    """
    path = Path(path)
    owner.make_folder(path.absolute().parent, parameter)  # removed again only if a failed run leaves it empty
    lock = lock_file(path)
    while True:
        handle = _open_lock(lock, parameter)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _held_by(handle.read())
            handle.close()
            raise OptionError(
                parameter,
                f"another calibprune run (pid {holder}) is writing to {str(path)!r}",
                "wait for it, or another path",
            ) from None
        if lock.exists() and os.stat(lock).st_ino == os.fstat(handle.fileno()).st_ino:
            break  # not a lock file its previous holder removed meanwhile
        handle.close()
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{LOCK_TEXT}{os.getpid()}")
        handle.flush()
        _remove_stale_temps(path, parameter)
        yield
    finally:
        lock.unlink(missing_ok=True)
        handle.close()
        owner.keep(lock)


def _open_lock(lock: Path, parameter: str):
    """Open (creating it if missing) a lock file; a file of that name not written by calibprune is refused."""
    created = not os.path.lexists(lock)
    try:
        handle = open(lock, "a+", encoding="utf-8")  # noqa: SIM115 - held until the run ends
    except OSError as err:
        raise owner.os_refusal(parameter, lock, err) from None
    if created:
        owner.track(lock)
    handle.seek(0)
    text = handle.read()
    if text and not text.startswith(LOCK_TEXT):
        handle.close()
        raise refuse(
            parameter, lock, "exists and was not written by calibprune", "a path without such a file beside it"
        )
    return handle


def _remove_stale_temps(path: Path, parameter: str) -> None:
    """Remove the marked temp folders of ``path`` that a killed run left (the lock says none is live)."""
    for stale in path.absolute().parent.glob(f".{path.name[:60]}.calibprune-*"):
        if stale.is_dir() and owner.is_marked(stale, "temp"):
            owner.remove(stale, parameter, "temp")
