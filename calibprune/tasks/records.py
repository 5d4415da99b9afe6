"""Read a dataset's records from a local ``<data_dir>/<name>/<split>.jsonl`` copy or from the Hugging Face Hub."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path
from typing import Any

from calibprune.tasks.base import HubSpec, Task

SPLITS = ("train", "test")
# Streamed hub splits (huge corpora) are read up to this many records when no limit is given.
STREAMING_LIMIT = 20_000


class DataUnavailableError(RuntimeError):
    """No local copy of a dataset and the hub could not be reached (offline, unknown id, ...)."""


def read_jsonl(path: str | Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Read the first ``limit`` (all when ``None``) JSON objects of a JSON Lines file, skipping blank lines."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if limit is not None and len(records) >= limit:
                break
            if line.strip():
                records.append(json.loads(line))
    return records


def fetch_records(
    name: str, split: str, hub: HubSpec, hub_split: str, data_dir: str | None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Read ``<data_dir>/<name>/<split>.jsonl`` when it exists, else the split ``hub_split`` of the hub dataset.

    Raises:
        DataUnavailableError: neither a local copy nor the hub answered; the message says how to get a copy.

    """
    local = Path(data_dir) / name / f"{split}.jsonl" if data_dir is not None else None
    if local is not None and local.is_file():
        return read_jsonl(local, limit)
    try:
        import datasets

        dataset = datasets.load_dataset(
            hub.path, hub.name, split=hub_split, streaming=hub.streaming, data_files=hub.data_files
        )
    except Exception as err:  # offline, gated, renamed: one message whatever the cause
        where = f"{local} does not exist" if local is not None else "no --data_dir was given"
        raise DataUnavailableError(
            f"{name}: cannot load {hub.path}" + (f" ({hub.name})" if hub.name else "") + f" split {hub_split!r} "
            f"from the Hugging Face Hub ({type(err).__name__}: {err}) and {where}. Go online (and log in for gated "
            f"datasets), or pass --data_dir DIR with DIR/{name}/{split}.jsonl holding the records with the hub's "
            "field names (e.g. ../shared/data)."
        ) from err
    if limit is None and hub.streaming:
        limit = STREAMING_LIMIT
    return [dict(record) for record in islice(dataset, limit)]


def load_records(task: Task, split: str, data_dir: str | None, limit: int | None = None) -> list[dict[str, Any]]:
    """Read the raw records (hub field names) of a task's ``train`` or ``test`` split, local copy first.

    Args:
        task: the task whose data is read.
        split: ``train`` (calibration pool, few-shot exemplars) or ``test`` (evaluation).
        data_dir: folder with ``<task>/<split>.jsonl`` files; the hub is used when it or the file is absent.
        limit: read at most this many records (the first ones).

    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    hub_split = task.hub.train_split if split == "train" else task.hub.test_split
    return fetch_records(task.name, split, task.hub, hub_split, data_dir, limit)
