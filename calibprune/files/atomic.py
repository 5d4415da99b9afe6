"""Every file and folder calibprune writes: to a temp name only this run can produce, fsynced, then renamed.

A write never replaces what calibprune does not own (:func:`~calibprune.files.owner.owns`): an existing file is
replaced only when this run made it, when its folder carries calibprune's mark of a kind the writer names, or when
the writer recognises its content as its own (``signature``); a folder (a saved model) only when it is marked as
one and holds nothing but the files calibprune wrote there.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from calibprune.errors import OptionError
from calibprune.files import owner, signals
from calibprune.files.owner import MARKER, Signature, refuse


def replaceable(path: Path, folder_kinds: tuple[str, ...] = (), signature: Signature | None = None) -> bool:
    """Whether the file ``path`` may be replaced.

    It may when absent, made by this run, in a folder marked as one of ``folder_kinds``, or recognised by
    ``signature``.
    """
    if os.path.lexists(path) and (path.is_dir() or path.is_symlink()) and not owner.made_by_this_run(path):
        return False
    return owner.owns(path, *folder_kinds, signature=signature)


def check_file(
    path: str | Path,
    parameter: str,
    accepted: str,
    folder_kinds: tuple[str, ...] = (),
    signature: Signature | None = None,
) -> Path:
    """Fail before any work when the file ``path`` could not be written, or would replace what is not calibprune's.

    Raises:
        OptionError: naming ``parameter`` and what it accepts.
    """
    path = owner.check_name(path, parameter)
    if path.is_dir():
        raise refuse(parameter, path, "is a folder", accepted)
    if not replaceable(path, folder_kinds, signature):
        raise refuse(parameter, path, "exists and was not written by calibprune; it is left as it is", accepted)
    owner.check_can_create(path, parameter, accepted)
    return path


def fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a crash right after it keeps the new name)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems (e.g. on macOS or network mounts) cannot fsync a folder: the rename still happened
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


@contextmanager
def atomic_file(
    path: str | Path,
    parameter: str,
    accepted: str = "a path calibprune may write",
    folder_kinds: tuple[str, ...] = (),
    signature: Signature | None = None,
) -> Iterator[Path]:
    """Yield a temp path next to ``path``; once the block has written it, it replaces ``path`` (or is removed).

    Raises:
        OptionError: naming ``parameter`` when ``path`` exists and is not calibprune's (checked again at the end).
    """
    path = Path(path)
    check_file(path, parameter, accepted, folder_kinds, signature)
    owner.make_folder(path.parent, parameter)  # a failed run removes it again only if it is left empty
    tmp = owner.temp_name(path)
    owner.track(tmp)
    try:
        yield tmp
        _fsync_file(tmp)
        if not replaceable(path, folder_kinds, signature):
            raise refuse(parameter, path, "exists and was not written by calibprune; it is left as it is", accepted)
        os.replace(tmp, path)
        fsync_folder(path.parent)
    finally:
        if os.path.lexists(tmp):
            tmp.unlink()
        owner.keep(tmp)


def write_text(path: str | Path, text: str, parameter: str, **options: Any) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; ``options`` as in :func:`atomic_file`."""
    with atomic_file(path, parameter, **options) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, document: Any, parameter: str, indent: int = 2, **options: Any) -> Path:
    """Write ``document`` as indented JSON to ``path`` atomically; ``options`` as in :func:`atomic_file`."""
    return write_text(path, json.dumps(document, indent=indent, default=str), parameter, **options)


def write_with(path: str | Path, writer: Callable[[Path], Any], parameter: str, **options: Any) -> Path:
    """Let ``writer`` (``torch.save``, ``savefig``, ``save_file``...) write a temp path that then replaces ``path``."""
    with atomic_file(path, parameter, **options) as tmp:
        writer(tmp)
    return Path(path)


def foreign_entries(folder: Path, kind: str) -> list[str]:
    """What in ``folder`` calibprune did not write as a ``kind`` folder (everything, when it is not marked so)."""
    mark = owner.marker(folder)
    entries = sorted(entry.name for entry in folder.iterdir() if entry.name != MARKER)
    if mark is None or mark["calibprune"] != kind:
        return entries or [f"no {MARKER} mark"]
    written = set(mark.get("files", []))
    return [name for name in entries if name not in written or not (folder / name).is_file()]


@contextmanager
def atomic_folder(path: str | Path, parameter: str, kind: str, overwrite: bool = False) -> Iterator[Path]:
    """Yield a marked temp folder next to ``path`` that replaces ``path`` when the block succeeds, or vanishes.

    The finished folder is marked as ``kind`` with the list of files written into it, so that a later
    ``overwrite`` replaces it only if nothing was added since.

    Raises:
        OptionError: naming ``parameter`` (and ``overwrite``) when ``path`` exists and may not be replaced.
    """
    path = Path(path)
    check_folder(path, parameter, kind, overwrite)
    owner.make_folder(path.parent, parameter)  # a failed run removes it again only if it is left empty
    tmp = owner.make_folder(owner.temp_name(path), parameter, kind="temp", scratch=True)
    try:
        yield tmp
        signals.raise_if_stopping()  # told to stop (held by Lightning's loop) before the model is in place
        files = sorted(entry.name for entry in tmp.iterdir() if entry.name != MARKER)
        owner.write_marker(tmp, kind, files)
        for name in files:
            _fsync_file(tmp / name)
        tmp.chmod(0o755)
        check_folder(path, parameter, kind, overwrite)
        if os.path.lexists(path):  # a folder calibprune wrote (checked): moved aside, replaced, then deleted
            old = owner.make_folder(owner.temp_name(path), parameter, kind="temp", scratch=True)
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            owner.remove(old, parameter, "temp")
        else:
            os.replace(tmp, path)
        fsync_folder(path.parent)
    finally:
        if os.path.lexists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        owner.keep(tmp)


def check_folder(path: str | Path, parameter: str, kind: str, overwrite: bool) -> Path:
    """Fail before any work when the folder ``path`` could not be written, or replaced with ``overwrite``.

    Raises:
        OptionError: naming ``parameter`` (and ``overwrite``) and what it accepts.
    """
    path = owner.check_name(path, parameter)
    if os.path.lexists(path) and not path.is_dir():
        raise refuse(parameter, path, "is a file", "a folder path")
    if path.exists() and not overwrite:
        raise OptionError(parameter, f"{str(path)!r} already exists; pass --overwrite true to replace it")
    if path.exists():
        foreign = foreign_entries(path, kind)
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise refuse(
                parameter,
                path,
                f"is not a {kind} saved by calibprune ({shown}); overwrite true replaces only such a folder",
                "another path",
            )
    owner.check_can_create(path, parameter, "a path in a writable folder")
    return path


def link_or_copy(source: Path, target: Path) -> None:
    """Give the new file ``target`` the content of ``source``: a hard link on one file system, else a copy."""
    if os.path.lexists(target):
        raise FileExistsError(f"{target} exists")  # only ever called on fresh names inside a temp folder
    try:
        os.link(source, target)  # same file system: no second copy of the weights on disk
    except OSError:
        shutil.copyfile(source, target)
