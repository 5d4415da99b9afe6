"""Append-only results of a study: one JSON line per finished cell, flushed and fsynced as it finishes."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from calibprune.study.cells import Shard

log = logging.getLogger(__name__)

RESULTS_GLOB = "results*.jsonl"


def results_path(output_dir: str | Path, shard: Shard | None = None) -> Path:
    """``results.jsonl``, or ``results-shard-<i>-of-<n>.jsonl`` for a shard (one writer per file)."""
    name = "results.jsonl" if shard is None else f"results-{shard.tag}.jsonl"
    return Path(output_dir) / name


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Append one record as a JSON line and force it to disk, so that a crash loses at most the cell in flight."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True, default=str) + "\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def _read_lines(path: Path) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by a crash: that cell runs again
            log.warning("%s:%d: skipping an incomplete record", path, number)
    return records


def read_records(output_dir: str | Path, partial: bool = False) -> list[dict[str, Any]]:
    """Every record of every results file in ``output_dir`` (all shards), one per id (the last one wins).

    Args:
        output_dir: the study's folder.
        partial: also return the ``partial`` records (one per task evaluated of a cell not yet finished).
    """
    by_id: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(output_dir).glob(RESULTS_GLOB)):
        for record in _read_lines(path):
            if partial or record.get("kind") != "partial":
                by_id[record["id"]] = record
    return list(by_id.values())


def finished_ids(output_dir: str | Path) -> set[str]:
    """Ids of the cells (and dense evaluations) finished in ``output_dir`` (not skipped cells, not partial tasks)."""
    return {record["id"] for record in read_records(output_dir) if record["kind"] in ("cell", "dense")}
