"""What calibprune made, and the only code allowed to delete or replace a path on the user's filesystem.

Two kinds of proof say a path is calibprune's:

- a **mark**: a folder holding :data:`MARKER` (``.calibprune``, JSON with its kind, the run id and, for a saved
  model, the files it wrote), written by :func:`make_folder` into every folder calibprune creates to keep or to
  reuse across runs (saved models, ``<save_model>.partial``, temp folders, caches, study views); or a file whose
  content a writer recognises as its own (a ``signature``, e.g. a results JSON, an exported token file);
- the **ledger** of this run: every folder and temp file this process created, with a random run id in every temp
  name, so that a failed or stopped run removes exactly what it made (:func:`abandon`) and nothing else.

Anything else is refused with an :class:`~calibprune.errors.OptionError` naming the parameter that pointed there.
"""

from __future__ import annotations

import atexit
import errno
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calibprune.errors import OptionError

MARKER = ".calibprune"
NAME_BYTES = 255 - len(".partial") - 8  # a file system's 255, less the longest suffix calibprune adds to a name
Signature = Callable[[Path], bool]


@dataclass
class _Ledger:
    """This process's run: its id, the folders it created (oldest first) and its scratch paths (removed on failure)."""

    run: str = field(default_factory=lambda: secrets.token_hex(8))
    created: list[Path] = field(default_factory=list)
    scratch: list[Path] = field(default_factory=list)


_ledger = _Ledger()


def new_run() -> str:
    """Start a new run (a new id, an empty ledger); return its id."""
    global _ledger
    _ledger = _Ledger()
    return _ledger.run


def temp_name(path: Path) -> Path:
    """A sibling of ``path`` that only this run can produce: ``.<name>.calibprune-<run>-<token>``."""
    return path.with_name(f".{path.name[:60]}.calibprune-{_ledger.run}-{secrets.token_hex(4)}")


def marker(folder: Path) -> dict[str, Any] | None:
    """The mark of ``folder`` (``None``: not a folder calibprune made)."""
    try:
        mark = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return mark if isinstance(mark, dict) and "calibprune" in mark else None


def is_marked(folder: Path, *kinds: str) -> bool:
    """Whether ``folder`` carries calibprune's mark (of one of ``kinds``, when given)."""
    mark = marker(folder)
    return mark is not None and (not kinds or mark["calibprune"] in kinds)


def write_marker(folder: Path, kind: str, files: list[str] | None = None) -> None:
    """Mark ``folder`` as made by this run, as ``kind`` (with the ``files`` it wrote, for a saved model)."""
    mark = {"calibprune": kind, "run": _ledger.run, "pid": os.getpid(), **({"files": files} if files else {})}
    tmp = temp_name(Path(folder) / MARKER)
    with open(tmp, "x", encoding="utf-8") as handle:
        handle.write(json.dumps(mark))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, Path(folder) / MARKER)


def refuse(parameter: str, path: Path, problem: str, accepted: str) -> OptionError:
    """The one-line refusal for ``path``, reached through ``parameter``."""
    return OptionError(parameter, f"{str(path)!r} {problem}", accepted)


def os_refusal(parameter: str, path: Path, err: OSError) -> OptionError:
    """An OS error on ``path`` as a refusal naming ``parameter`` (too long a name, a file in the way, read-only)."""
    problems = {
        errno.ENAMETOOLONG: ("has a name too long for the file system", "a name of at most 255 bytes"),
        errno.ENOTDIR: ("lies under a file, not a folder", "a path whose parents are folders"),
        errno.EEXIST: ("is a file", "a folder path"),
        errno.EACCES: ("is not writable", "a path in a writable folder"),
        errno.EPERM: ("is not writable", "a path in a writable folder"),
        errno.EROFS: ("is on a read-only file system", "a path in a writable folder"),
        errno.ENOSPC: ("cannot be written: no space left on the device", "a path on a device with free space"),
    }
    problem, accepted = problems.get(err.errno, (f"cannot be written ({err.strerror})", "a writable path"))
    return refuse(parameter, path, problem, accepted)


def make_folder(path: str | Path, parameter: str, kind: str | None = None, scratch: bool = False) -> Path:
    """Create ``path`` and its missing parents, recording each in the ledger; mark the leaf as ``kind`` if new.

    A folder that already exists is used as it is (written into, never emptied, not marked).

    Args:
        path: the folder.
        parameter: the parameter that named it, for refusals.
        kind: mark a newly created leaf as this kind (``None``: no mark).
        scratch: the leaf and all in it go when the run fails or stops (:func:`abandon`) unless :func:`keep` is
            called (only for a folder that holds nothing else: a run folder, a temp folder). Other folders it
            creates are removed by :func:`abandon` only when left empty.

    Raises:
        OptionError: naming ``parameter`` when the folder cannot be created.
    """
    path = Path(path)
    missing = [p for p in [path, *path.parents] if not os.path.lexists(p)][::-1]
    try:
        if os.path.lexists(path) and not path.is_dir():
            raise FileExistsError(errno.EEXIST, "exists", str(path))
        for folder in missing:
            folder.mkdir()
            _ledger.created.append(folder)
        if kind is not None and missing and missing[-1] == path:
            write_marker(path, kind)
    except OSError as err:
        raise os_refusal(parameter, path, err) from None
    if scratch and path in missing:
        _ledger.scratch.append(path)
    return path


def track(path: Path) -> None:
    """Record a temp path this run just created, so that :func:`abandon` removes it if the run stops."""
    _ledger.scratch.append(Path(path))


def keep(path: str | Path) -> None:
    """``path`` is finished (or renamed away): a failure of the run no longer removes it."""
    path = Path(path)
    _ledger.scratch = [p for p in _ledger.scratch if p != path]


def made_by_this_run(path: Path) -> bool:
    """Whether this run created ``path`` (a folder or temp path in its ledger)."""
    path = Path(path)
    return path in _ledger.created or path in _ledger.scratch


def owns(path: Path, *kinds: str, signature: Signature | None = None) -> bool:
    """Whether calibprune may delete or replace ``path``.

    Absent or made by this run; a folder marked (as one of ``kinds``, when given); a file inside a folder marked as
    one of ``kinds``, or whose content ``signature`` recognises.
    """
    path = Path(path)
    if not os.path.lexists(path) or made_by_this_run(path):
        return True
    if path.is_dir() and not path.is_symlink():
        return is_marked(path, *kinds) or (signature is not None and _recognised(path, signature))
    if kinds and is_marked(path.parent, *kinds):
        return True
    return signature is not None and _recognised(path, signature)


def _recognised(path: Path, signature: Signature) -> bool:
    try:
        return bool(signature(path))
    except Exception:  # noqa: BLE001 - content a recogniser cannot read is not calibprune's
        return False


def remove(
    path: str | Path,
    parameter: str,
    *kinds: str,
    signature: Signature | None = None,
    accepted: str = "a path calibprune made",
) -> None:
    """Delete ``path`` (folder or file) if calibprune owns it (see :func:`owns`); nothing else, ever.

    Raises:
        OptionError: naming ``parameter`` when ``path`` is not calibprune's.
    """
    path = Path(path)
    if not os.path.lexists(path):
        return
    if not owns(path, *kinds, signature=signature):
        raise refuse(parameter, path, "was not made by calibprune; it is left as it is", accepted)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    keep(path)


def remove_if_empty(folder: Path) -> None:
    """Remove ``folder`` if this run created it and nothing but its own mark is left in it."""
    folder = Path(folder)
    if folder not in _ledger.created or not folder.is_dir():
        return
    entries = [entry.name for entry in folder.iterdir()]
    if entries == [MARKER] and is_marked(folder):
        (folder / MARKER).unlink()
        entries = []
    if not entries:
        folder.rmdir()
        _ledger.created.remove(folder)


def abandon() -> None:
    """Remove what this run made and marked as scratch, newest first, then the folders it created left empty."""
    for path in reversed(_ledger.scratch):
        if os.path.lexists(path):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    _ledger.scratch = []
    for folder in reversed(list(_ledger.created)):
        remove_if_empty(folder)


def writable_folder(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (tried: permission bits say little to root or on /proc)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    probe = temp_name(Path(folder) / "probe")
    try:
        probe.mkdir()
    except OSError:
        return False
    probe.rmdir()
    return True


def existing_parent(path: Path) -> Path:
    """The nearest ancestor of ``path`` that exists (where a new folder would be created)."""
    return next(p for p in [path.absolute().parent, *path.absolute().parents] if os.path.lexists(p))


def check_name(path: str | Path, parameter: str) -> Path:
    """Fail when a part of ``path`` is longer than a file system allows (with room for calibprune's suffixes).

    Raises:
        OptionError: naming ``parameter``.
    """
    path = Path(path)
    if any(len(os.fsencode(part)) > NAME_BYTES for part in path.parts):
        raise refuse(parameter, path, "has a name too long for the file system", f"names of at most {NAME_BYTES} bytes")
    return path


def check_can_create(path: str | Path, parameter: str, accepted: str) -> Path:
    """Fail before any work when ``path`` could not be created: a too-long name, a file above it, no write access.

    Raises:
        OptionError: naming ``parameter``.
    """
    path = check_name(path, parameter)
    parent = existing_parent(path)
    if not parent.is_dir():
        raise refuse(parameter, parent, "is a file, not a folder", accepted)
    if not writable_folder(parent):
        raise refuse(parameter, parent, "is not writable", accepted)
    return path


def temporary_folder(prefix: str, kind: str) -> Path:
    """A marked folder in the system's temp folder, removed when the run fails, stops or the process exits."""
    folder = make_folder(temp_name(Path(tempfile.gettempdir()) / prefix), prefix, kind=kind, scratch=True)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
