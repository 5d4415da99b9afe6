"""Check a study before any pruning: its whole grid from the files alone, then its calibration pools.

:func:`check_grid` runs before anything is written or any model loads: every method built once, every cell's
calibration set built and checked from its files (token-file rows and lengths, text files' records and size),
sequence lengths against the model's context and per-block sparsities against its blocks (``config.json``), and
calibration sets that mean the same mixture however written. :func:`check_calibration` then reads every pool
with the tokenizer: unavailable sets are skipped, a pool holding fewer tokens than a cell's ``nsamples x seqlen``
stops the study at once (never hours later, and never by silently reusing text).
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from typing import Any

from calibprune.datamodules.calibration import CalibrationDataModule, split_counts
from calibprune.datamodules.checks import mixture
from calibprune.datamodules.sources import SourceContext, SourceOptions, build_source
from calibprune.datamodules.sources.documents import DocumentSource
from calibprune.datamodules.sources.task import TaskSource
from calibprune.errors import OptionError
from calibprune.modeling.config_file import (
    block_count,
    check_layer_sparsity,
    check_seqlen,
    context_length,
    read_model_config,
    vocab_size,
)
from calibprune.study.cells import Cell, expand_cells
from calibprune.study.spec import CalibrationEntry, MethodEntry, StudySpec
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


# Parameters of the calibration data module that a grid sets on its own axes; the others are an entry's.
_GRID_AXES = ("nsamples", "seqlen")
# An entry's options at their defaults mean what leaving them out means.
_DEFAULTS = {name: p.default for name, p in inspect.signature(CalibrationDataModule.__init__).parameters.items()}


def check_grid(spec: StudySpec) -> None:
    """Fail on any cell of the grid that could not run, or on two cells that mean the same, from the files alone.

    Args:
        spec: the study.

    Raises:
        OptionError: naming ``grid.methods``, ``grid.calibration``, ``grid.nsamples``, ``grid.seqlen`` or
            ``evaluation.seqlen``, and the method or calibration set; ValueError from :meth:`StudySpec.validate`.
    """
    model_config = read_model_config(spec.model.model)
    built = [_check_method(method, block_count(model_config)) for method in spec.grid.methods]
    spec.validate()
    _check_distinct_methods(spec.grid.methods, built)
    _check_distinct_mixtures(spec.grid.calibration)
    cells = expand_cells(spec)
    context = context_length(model_config)
    for seqlen in sorted({cell.seqlen for cell in cells if cell.seqlen is not None}):
        check_seqlen("grid.seqlen", seqlen, context)
    check_seqlen("evaluation.seqlen", spec.evaluation.seqlen, context)
    sizes: dict[str, set[tuple[int, int]]] = {}
    for cell in cells:
        if cell.calibration is not None:
            sizes.setdefault(cell.calibration.label, set()).add((cell.nsamples, cell.seqlen))
    for entry in spec.grid.calibration:
        for nsamples, seqlen in sorted(sizes.get(entry.label, ())):
            _check_entry(entry, spec, nsamples, seqlen, vocab_size(model_config))


def _check_method(method: MethodEntry, blocks: int | None) -> Any:
    """Build the method once (its options checked by its class), hold its per-block list against the blocks."""
    try:
        built = method.build()
        check_layer_sparsity(method.options.get("layer_sparsity"), blocks)
        return built
    except OptionError as err:
        raise OptionError("grid.methods", f"{method.label}: {err.parameter}: {err.problem}", err.accepted) from None
    except (TypeError, ValueError) as err:
        raise OptionError("grid.methods", f"{method.label}: {err}") from None


def _check_distinct_methods(methods: list[MethodEntry], built: list[Any]) -> None:
    """Fail on two methods that prune alike: the same class, sparsity and options once defaults are dropped."""
    seen: dict[tuple, str] = {}
    for method, instance in zip(methods, built, strict=True):
        cls = type(instance)
        defaults = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()}
        options = {k: v for k, v in method.options.items() if v != defaults.get(k, object())}
        calibration = None if method.calibration is None else tuple(sorted(method.calibration))
        key = (cls, method.sparsity_ratio, method.sparsity_type, repr(sorted(options.items())), calibration)
        if key in seen:
            raise OptionError(
                "grid.methods",
                f"{method.label!r} and {seen[key]!r} are the same method ({cls.__name__}, options at their defaults "
                "left out)",
                "distinct methods",
            )
        seen[key] = method.label


def _check_distinct_mixtures(entries: list[CalibrationEntry]) -> None:
    """Fail on two calibration sets that are one mixture (equal weights written or not, sources reordered)."""
    seen: dict[tuple, str] = {}
    for entry in entries:
        if len(set(entry.sources)) != len(entry.sources):
            continue  # a source listed twice in one entry has its own message
        try:
            shares = mixture(list(entry.sources), entry.weights)
        except (ValueError, ZeroDivisionError):
            continue  # bad weights: the data module names them
        options = {k: v for k, v in entry.options.items() if v != _DEFAULTS.get(k, object())}
        key = (shares, entry.format, tuple(sorted(options.items(), key=str)))
        if key in seen:
            raise OptionError(
                "grid.calibration",
                f"{entry.label!r} and {seen[key]!r} are the same calibration set "
                f"({' + '.join(f'{source} {share:.3g}' for source, share in shares)})",
                "distinct calibration sets (equal weights are no weights; a mixture's order does not matter)",
            )
        seen[key] = entry.label


def _check_entry(entry: CalibrationEntry, spec: StudySpec, nsamples: int, seqlen: int, vocab: int | None) -> None:
    """Build the entry's data module as its cells will and check its sources for one cell size."""
    try:
        datamodule = CalibrationDataModule(
            calibration=list(entry.sources),
            weights=entry.weights,
            format=entry.format,
            data_dir=spec.data_dir,
            nsamples=nsamples,
            seqlen=seqlen,
            batch_size=spec.grid.batch_size,
            **entry.options,
        )
        datamodule.check_sources(vocab)
    except OptionError as err:
        group = f"grid.{err.parameter}" if err.parameter in _GRID_AXES else "grid.calibration"
        inner = "" if err.parameter in (*_GRID_AXES, "calibration") else f"{err.parameter}: "
        raise OptionError(group, f"{entry.label!r}: {inner}{err.problem}", err.accepted) from None
    except (TypeError, ValueError) as err:
        raise OptionError("grid.calibration", f"{entry.label!r}: {err}") from None


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
