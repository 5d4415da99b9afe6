"""Append-only JSON-lines records that survive a torn write.

A record is appended whole in one write, after a newline if the file does not end in one (the rest of a line
torn by a kill is never glued to), then flushed and fsynced. Reading keeps every complete line; a torn line is
quarantined: kept in the file, reported once, and never counted, so the finished records around it still count.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from calibprune.files import owner
from calibprune.files.atomic import fsync_folder

log = logging.getLogger(__name__)
_reported: set[tuple[str, int, int]] = set()  # (file, line number, line length) of torn lines already reported


def _ends_in_newline(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"
    except OSError:  # empty or missing: nothing to end
        return True


def append_record(path: str | Path, record: dict[str, Any], parameter: str = "output_dir") -> None:
    """Append ``record`` as one JSON line and force it to disk, so that a crash loses at most the record in flight.

    Raises:
        OptionError: naming ``parameter`` when the file cannot be written.
    """
    path = Path(path)
    new = not path.exists()
    owner.make_folder(path.parent, parameter)
    line = json.dumps(record, sort_keys=True, default=str) + "\n"
    if not _ends_in_newline(path):
        line = "\n" + line  # a torn last line stays a line of its own
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as err:
        raise owner.os_refusal(parameter, path, err) from None
    if new:
        fsync_folder(path.parent)


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Every complete record of ``path``, in order; torn or unreadable lines are quarantined (kept, reported)."""
    path = Path(path)
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            records.append(record)
        else:
            _report_torn(path, number, line)
    return records


def _report_torn(path: Path, number: int, line: str) -> None:
    key = (str(path.resolve()), number, len(line))
    if key not in _reported:
        _reported.add(key)
        log.warning(
            "%s:%d: an incomplete record (cut short by a kill?) is kept in the file and not counted", path, number
        )
