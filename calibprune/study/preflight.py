"""Check a study's calibration data before any pruning: unavailable sets are skipped, too-small pools stop it.

A pool holding fewer tokens than a cell's ``nsamples x seqlen`` stops the study at once (never hours later, and
never by silently reusing text).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from calibprune.datamodules.calibration import split_counts
from calibprune.datamodules.sources import SourceContext, SourceOptions, build_source
from calibprune.datamodules.sources.documents import DocumentSource
from calibprune.datamodules.sources.task import TaskSource
from calibprune.study.cells import Cell
from calibprune.study.spec import CalibrationEntry
from calibprune.tasks.records import DataUnavailableError

log = logging.getLogger(__name__)
# Options of a calibration entry that shape the sources (the others are datamodule settings).
SOURCE_OPTIONS = (
    "num_incontext",
    "num_cot_steps",
    "data_seqlen",
    "per_example_bos",
    "text_field",
    "split",
    "allow_overlap",
)


@dataclass
class Preflight:
    """What the check found.

    Attributes:
        unavailable: calibration title -> why its data cannot be read (its cells are skipped).
        pool_tokens: calibration title -> tokens of each document source's pool, in source order.
    """

    unavailable: dict[str, str]
    pool_tokens: dict[str, list[int]]


def _options(entry: CalibrationEntry) -> SourceOptions:
    return SourceOptions(format=entry.format, **{k: v for k, v in entry.options.items() if k in SOURCE_OPTIONS})


def check_calibration(cells: list[Cell], tokenizer: Any, data_dir: str | None) -> Preflight:
    """Read every calibration set the cells use once; check each document pool holds its cells' tokens.

    Args:
        cells: the cells about to run.
        tokenizer: the model's tokenizer.
        data_dir: the study's local data folder.

    Raises:
        ValueError: a pool holds fewer tokens than a cell needs (naming the set, the cell's ``nsamples x
            seqlen`` and the pool's size) and the entry does not set ``allow_overlap``.
    """
    unavailable: dict[str, str] = {}
    pools: dict[str, list[int]] = {}
    by_title: dict[str, tuple[CalibrationEntry, list[Cell]]] = {}
    for cell in cells:
        if cell.calibration is not None:
            by_title.setdefault(cell.calibration.label, (cell.calibration, []))[1].append(cell)
    for title, (entry, entry_cells) in by_title.items():
        options = _options(entry)
        weights = entry.weights or [1.0] * len(entry.sources)
        pools[title] = []
        for index, spec in enumerate(entry.sources):
            source = build_source(spec, options)
            try:
                if isinstance(source, TaskSource):
                    source.pool(data_dir)
                    continue
                if not isinstance(source, DocumentSource):
                    continue
                context = SourceContext(
                    tokenizer=tokenizer, seqlen=max(c.seqlen for c in entry_cells), data_dir=data_dir
                )
                tokens = source.pool_tokens(context)
            except DataUnavailableError as err:
                unavailable[title] = str(err).splitlines()[0]
                log.warning("calibration set %r skipped: %s", title, unavailable[title])
                break
            pools[title].append(tokens)
            if options.allow_overlap:
                continue
            for cell in entry_cells:
                count = split_counts(cell.nsamples, weights)[index]
                length = options.data_seqlen or cell.seqlen
                if count * length > tokens:
                    raise ValueError(
                        f"grid.nsamples/grid.seqlen: calibration set {title!r} ({spec}) holds {tokens} tokens, "
                        f"fewer than {count} x {length} = {count * length} for the cell with nsamples="
                        f"{cell.nsamples} seqlen={cell.seqlen}; lower them, or set options: {{allow_overlap: true}}"
                    )
    return Preflight(unavailable, pools)
