"""Append-only results of a study: one JSON line per finished cell, flushed and fsynced as it finishes.

A line torn by a kill is kept in its file and reported, never glued to nor counted (:mod:`calibprune.files.records`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from calibprune.files import owner
from calibprune.files import records as jsonl
from calibprune.study.cells import Shard

RESULTS_GLOB = "results*.jsonl"
STUDY_KIND = "study"  # the mark of a study folder calibprune made
PARAMETER = "output_dir"


def results_path(output_dir: str | Path, shard: Shard | None = None) -> Path:
    """``results.jsonl``, or ``results-shard-<i>-of-<n>.jsonl`` for a shard (one writer per file)."""
    name = "results.jsonl" if shard is None else f"results-{shard.tag}.jsonl"
    return Path(output_dir) / name


def _is_spec(path: Path) -> bool:
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(spec, dict) and {"model", "grid", "evaluation", "output_dir"} <= set(spec)


def is_study_output(path: Path) -> bool:
    """Whether ``path`` (a report file, ``plots/``, ``tensorboard/``) lies in a study folder calibprune wrote.

    A study folder carries calibprune's mark, or (written before marks) the ``study.json`` of a study.
    """
    path = Path(path)
    return any(
        owner.is_marked(folder, STUDY_KIND) or _is_spec(folder / "study.json")
        for folder in (path.parent, path.parent.parent)
    )


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Append one record as a JSON line and force it to disk, so that a crash loses at most the cell in flight."""
    jsonl.append_record(path, record, PARAMETER)


def read_records(output_dir: str | Path, partial: bool = False) -> list[dict[str, Any]]:
    """Every record of every results file in ``output_dir`` (all shards), one per id (the last one wins).

    Args:
        output_dir: the study's folder.
        partial: also return the ``partial`` records (one per task evaluated of a cell not yet finished).
    """
    by_id: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(output_dir).glob(RESULTS_GLOB)):
        for record in jsonl.read_records(path):
            if "id" in record and (partial or record.get("kind") != "partial"):
                by_id[record["id"]] = record
    return list(by_id.values())


def finished_ids(output_dir: str | Path) -> set[str]:
    """Ids of the cells (and dense evaluations) finished in ``output_dir`` (not skipped cells, not partial tasks)."""
    return {record["id"] for record in read_records(output_dir) if record.get("kind") in ("cell", "dense")}
