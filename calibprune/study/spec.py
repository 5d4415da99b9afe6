"""The study's YAML schema: which model, which pruning methods, which calibration sets, how to evaluate.

A study file looks like this (every key but ``grid.calibration`` has a default)::

    model: {model: embedded, dtype: float32}
    grid:
      methods: [{method: Wanda, sparsity_ratio: 0.5}]
      calibration:
        - {sources: [c4]}
        - {sources: [gsm8k], format: zero-shot, name: GSM8K (zero-shot)}
        - {sources: [c4, gsm8k], weights: [3, 1]}
      nsamples: [128]
      seqlen: [2048]
      seeds: [0, 1, 2]
    evaluation: {tasks: [wikitext, gsm8k], limit: 100, seqlen: 2048}
    data_dir: ../shared/data
    output_dir: studies/table2

Every combination of method x calibration x nsamples x seqlen x seed is one *cell*: one pruning run,
evaluated on every task of ``evaluation``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from calibprune.callbacks.registry import method_names, pruning_methods
from calibprune.engine.sparsity import resolve_pattern
from calibprune.errors import OptionError
from calibprune.evaluation.options import DEFAULT_WINDOW, EvaluationOptions
from calibprune.modeling.loading import EMBEDDED_MODEL


@dataclass
class ModelEntry:
    """The dense model every cell starts from.

    Attributes:
        model: Hugging Face hub id or local path of a causal LM, or ``embedded`` (SmolLM2-135M-Instruct).
        dtype: weights dtype: float32, bfloat16 or float16.
        offload_activations: keep calibration activations on the CPU between blocks.
    """

    model: str = EMBEDDED_MODEL
    dtype: str = "float32"
    offload_activations: bool = False

    @classmethod
    def from_hparams(cls, hparams: Mapping[str, Any]) -> ModelEntry:
        """The entry of a ``PruningModule``'s saved hyperparameters (its ``--model.*`` settings)."""
        return cls(**{f.name: hparams[f.name] for f in fields(cls) if f.name in hparams})


@dataclass
class MethodEntry:
    """One pruning method and sparsity (a group of columns in the tables).

    Attributes:
        method: any method of ``calibprune.callbacks`` by class name (``Wanda``), or the import path of a
            ``PruningMethod`` subclass.
        sparsity_ratio: fraction of weights pruned in every Linear layer (default: 0.5, or N/M for ``N:M``; an
            explicit ratio that contradicts ``N:M`` is an error when the method is built).
        sparsity_type: ``unstructured`` or ``N:M`` (e.g. ``2:4``).
        options: further constructor arguments of the method (e.g. ``{use_variant: true}``).
        name: title in the tables (default: e.g. ``Wanda 50%`` or ``SparseGPT 2:4``).
        calibration: titles of the calibration sets this method runs on (``None``: all of them), e.g. SparseGPT
            on a subset of the sets; it selects cells and is not part of their ids.
    """

    method: str = "Wanda"
    sparsity_ratio: float | None = None
    sparsity_type: str = "unstructured"
    options: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    calibration: list[str] | None = None

    def __post_init__(self) -> None:
        if self.sparsity_ratio is None:  # stored resolved, so a cell's id does not depend on how it was written
            self.sparsity_ratio = resolve_pattern(self.sparsity_type, None).ratio

    @property
    def label(self) -> str:
        """The title of this method in tables and plots."""
        if self.name:
            return self.name
        short = self.method.rsplit(".", 1)[-1]
        sparsity = f"{self.sparsity_ratio:.0%}" if self.sparsity_type == "unstructured" else self.sparsity_type
        return f"{short} {sparsity}"

    def build(self) -> Any:
        """A fresh instance of the pruning-method callback."""
        cls = pruning_methods().get(self.method.lower()) if "." not in self.method else _imported(self.method)
        if cls is None:
            raise OptionError(
                "method", f"unknown method {self.method!r}", f"{method_names()} or the import path of a PruningMethod"
            )
        return cls(sparsity_ratio=self.sparsity_ratio, sparsity_type=self.sparsity_type, **self.options)


@dataclass
class CalibrationEntry:
    """One calibration set (a column of the tables): a source, or a weighted mixture, in one format.

    Attributes:
        sources: calibration sources (``c4``, ``gsm8k``, ``ellipses``, ``random``, a file, ``hf:<id>``, ...),
            mixed when several.
        weights: mixture weights, one per source (default equal).
        format: layout of task sources: ``icl``, ``icl-cot`` or ``zero-shot``.
        options: further ``CalibrationDataModule`` arguments (``num_incontext``, ``num_cot_steps``,
            ``data_seqlen``, ``per_example_bos``, ``text_field``, ...).
        name: title in the tables (default: the sources joined with ``+``, then the non-default format).
    """

    sources: list[str] = field(default_factory=list)
    weights: list[float] | None = None
    format: str = "icl"
    options: dict[str, Any] = field(default_factory=dict)
    name: str | None = None

    @property
    def label(self) -> str:
        """The title of this calibration set in tables and plots."""
        if self.name:
            return self.name
        label = "+".join(self.sources)
        if self.weights:
            label += " [" + ":".join(f"{w:g}" for w in self.weights) + "]"
        details = [] if self.format == "icl" else [self.format]
        details += [f"{k}={v}" for k, v in sorted(self.options.items())]
        return f"{label} ({', '.join(details)})" if details else label


@dataclass
class ScanEntry:
    """Extra cells that vary one calibration set's size (a scan), the other axes at the grid's values.

    Attributes:
        calibration: title of the calibration set scanned (see :attr:`CalibrationEntry.label`).
        nsamples: numbers of sequences (default: the grid's).
        seqlen: sequence lengths (default: the grid's).
        seeds: seeds (default: the grid's).
        methods: titles of the methods scanned (default: every method running that set).
    """

    calibration: str = ""
    nsamples: list[int] | None = None
    seqlen: list[int] | None = None
    seeds: list[int] | None = None
    methods: list[str] | None = None


@dataclass
class GridSpec:
    """The axes of the study; every combination is one pruning run (a cell).

    Attributes:
        calibration: calibration sets (columns).
        methods: pruning methods and sparsities.
        nsamples: numbers of calibration sequences.
        seqlen: calibration sequence lengths in tokens.
        seeds: calibration sampling seeds (tables report mean and 2 standard deviations over them).
        batch_size: calibration sequences per forward pass (does not change results).
        scans: further cells varying nsamples or seqlen of one calibration set (cells already in the grid
            are not repeated).
    """

    calibration: list[CalibrationEntry] = field(default_factory=list)
    methods: list[MethodEntry] = field(default_factory=lambda: [MethodEntry()])
    nsamples: list[int] = field(default_factory=lambda: [128])
    seqlen: list[int] = field(default_factory=lambda: [2048])
    seeds: list[int] = field(default_factory=lambda: [0])
    batch_size: int = 8
    scans: list[ScanEntry] = field(default_factory=list)


@dataclass
class EvaluationSpec:
    """What every pruned model (and the dense one) is evaluated on: tasks, limits, and the study's options.

    The options mean what they mean in :class:`~calibprune.evaluation.options.EvaluationOptions` (the study's
    perplexity window is 2048 tokens; ``data_dir`` is the study's). These fields are part of every cell's id.

    Attributes:
        tasks: perplexity corpora (``wikitext``, ``c4``, a local text file) and downstream tasks.
        seqlen: tokens per perplexity window.
        batch_size: windows or items per forward pass.
        limit: first items (or windows) of each task; ``None`` for all.
        limits: per-task limits overriding ``limit`` (e.g. ``{wikitext: 16, esnli: 50}``).
        num_fewshot: exemplars per prompt (``None``: each task's default).
        seed: exemplar seed (fixed across cells, so that cells differ only by their pruning).
        rationale: chain-of-thought exemplars for arithmetic tasks.
        max_new_tokens: most generated tokens per answer (``None``: per-kind default).
        shared_exemplars: the same exemplars for every test item of a task (one prompt prefix computed once per
            batch, as the seed code draws them) instead of a draw per item.
    """

    tasks: list[str] = field(default_factory=lambda: ["wikitext"])
    seqlen: int = DEFAULT_WINDOW
    batch_size: int = EvaluationOptions.batch_size
    limit: int | None = None
    limits: dict[str, int] = field(default_factory=dict)
    num_fewshot: int | None = None
    seed: int = EvaluationOptions.seed
    rationale: bool = False
    max_new_tokens: int | None = None
    shared_exemplars: bool = False

    def limit_of(self, task: str) -> int | None:
        """The item (or window) limit of ``task``."""
        return self.limits.get(task, self.limit)

    def options(self, data_dir: str | None, task: str | None = None) -> EvaluationOptions:
        """The evaluation options of ``task`` (its own limit), or of every task (the global ``limit``)."""
        shared = {f.name: getattr(self, f.name) for f in fields(EvaluationOptions) if hasattr(self, f.name)}
        limit = self.limit if task is None else self.limit_of(task)
        return EvaluationOptions(**{**shared, "limit": limit, "data_dir": data_dir})

    def as_dict(self) -> dict[str, Any]:
        """The settings as a plain dict, part of every cell's id.

        ``shared_exemplars`` is left out while false, so that the cells of studies written before it keep their ids.
        """
        settings = asdict(self)
        if not self.shared_exemplars:
            del settings["shared_exemplars"]
        return settings


@dataclass
class AnalysisSpec:
    """How the report tests differences and labels the paper's findings (not part of any cell's id).

    Attributes:
        reference: the calibration set every other set is compared with (a title, or a source name such as
            ``c4``: the set of just that source in ICL format).
        alpha: significance level of the Holm-adjusted tests.
        resamples: paired-bootstrap resamples.
        accuracy_margin: absolute accuracy difference within which two sets count as equivalent ("as well as").
        perplexity_margin: relative perplexity difference within which two sets count as equivalent.
    """

    reference: str = "c4"
    alpha: float = 0.05
    resamples: int = 2000
    accuracy_margin: float = 0.01
    perplexity_margin: float = 0.02


@dataclass
class StudySpec:
    """A whole study: the dense model, the grid of pruning runs, the evaluation, where results go.

    Attributes:
        model: the dense model.
        grid: the pruning runs.
        evaluation: the evaluation of every run and of the dense model.
        data_dir: folder with local copies ``<source>/{train,test}.jsonl`` for calibration and evaluation.
        output_dir: where results (``results*.jsonl``), tables, plots and TensorBoard logs are written.
        name: the study's title in the report.
        analysis: the report's tests (reference set, significance level).
    """

    model: ModelEntry = field(default_factory=ModelEntry)
    grid: GridSpec = field(default_factory=GridSpec)
    evaluation: EvaluationSpec = field(default_factory=EvaluationSpec)
    data_dir: str | None = None
    output_dir: str = "studies/study"
    name: str = "study"
    analysis: AnalysisSpec = field(default_factory=AnalysisSpec)

    def validate(self) -> StudySpec:
        """Check the grid is not empty and its values are usable; return ``self``."""
        grid = self.grid
        methods = [_built(method) for method in grid.methods]  # unknown methods and bad sparsities fail here
        if not grid.calibration and any(method.needs_calibration for method in methods):
            raise OptionError("grid.calibration", "at least one calibration set is needed")
        for flag, values in (
            ("grid.methods", grid.methods),
            ("grid.nsamples", grid.nsamples),
            ("grid.seqlen", grid.seqlen),
            ("grid.seeds", grid.seeds),
        ):
            if not values:
                raise OptionError(flag, "at least one value is needed")
        for flag, values in (("grid.nsamples", grid.nsamples), ("grid.seqlen", grid.seqlen)):
            if any(not isinstance(v, int) or v <= 0 for v in values):
                raise OptionError(flag, f"positive integers expected, got {values}")
        for entry in grid.calibration:
            if not entry.sources:
                raise OptionError("grid.calibration", f"an entry has no sources ({entry})")
        labels = [(m.label, c.label) for m in grid.methods for c in grid.calibration or [CalibrationEntry()]]
        if len(set(labels)) != len(labels):
            raise OptionError("grid", "two methods or calibration sets have the same title", "distinct names")
        titles = [entry.label for entry in grid.calibration]
        for method in grid.methods:
            unknown = sorted(set(method.calibration or []) - set(titles))
            if unknown:
                raise OptionError("grid.methods[].calibration", f"unknown calibration titles {unknown}", f"{titles}")
        for scan in grid.scans:
            if scan.calibration not in titles:
                raise OptionError("grid.scans[].calibration", f"unknown title {scan.calibration!r}", f"{titles}")
            methods = [m.label for m in grid.methods]
            if scan.methods is not None and not set(scan.methods) <= set(methods):
                raise OptionError("grid.scans[].methods", f"unknown method titles {scan.methods}", f"{methods}")
            for flag, values in (("nsamples", scan.nsamples), ("seqlen", scan.seqlen), ("seeds", scan.seeds)):
                if values is not None and (not values or any(not isinstance(v, int) or v < 0 for v in values)):
                    raise OptionError(f"grid.scans[].{flag}", f"a non-empty list of integers expected, got {values}")
        if not self.evaluation.tasks:
            raise OptionError("evaluation.tasks", "at least one task is needed")
        return self


def _imported(path: str) -> Any:
    module_name, _, class_name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), class_name, None)
    except ImportError:
        return None


def _built(method: MethodEntry) -> Any:
    """``method``'s callback; an error in its options is one of ``grid.methods`` (``grid.methods: Wanda 50%: ...``)."""
    try:
        return method.build()
    except OptionError as err:
        raise OptionError("grid.methods", f"{method.label}: {err.line(err.parameter)}") from None
