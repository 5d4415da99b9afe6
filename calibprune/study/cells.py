"""Cells of a study grid (one pruning run each), their stable ids, and the split of cells into shards."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass
from typing import Any

from calibprune.study.spec import CalibrationEntry, MethodEntry, StudySpec

NO_CALIBRATION = "none"


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def stable_id(value: Any) -> str:
    """First 16 hex digits of the SHA-256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Cell:
    """One pruning run of the grid, evaluated on every task of the study.

    Attributes:
        index: position in the grid's expansion order (columns of the tables follow it).
        spec: the study.
        method: pruning method and sparsity.
        calibration: calibration set (``None`` for methods without calibration, e.g. magnitude).
        nsamples: calibration sequences (``None`` without calibration).
        seqlen: tokens per calibration sequence (``None`` without calibration).
        seed: calibration sampling seed (``None`` without calibration).
    """

    index: int
    spec: StudySpec
    method: MethodEntry
    calibration: CalibrationEntry | None
    nsamples: int | None
    seqlen: int | None
    seed: int | None

    def params(self) -> dict[str, Any]:
        """Everything the cell's results depend on (titles excluded): the input of :attr:`cell_id`."""
        calibration = None
        if self.calibration is not None:
            calibration = {k: v for k, v in asdict(self.calibration).items() if k != "name"}
        return {
            "model": asdict(self.spec.model),
            "method": {k: v for k, v in asdict(self.method).items() if k not in ("name", "calibration")},
            "calibration": calibration,
            "nsamples": self.nsamples,
            "seqlen": self.seqlen,
            "seed": self.seed,
            "data_dir": self.spec.data_dir,
            "evaluation": self.spec.evaluation.as_dict(),
        }

    @property
    def cell_id(self) -> str:
        """Stable id: a hash of :meth:`params`, the same on every machine and run."""
        return stable_id(self.params())

    def labels(self) -> dict[str, Any]:
        """Titles and axis values used to lay the cell out in tables (stored with its results)."""
        return {
            "method": self.method.label,
            "calibration": self.calibration.label if self.calibration is not None else NO_CALIBRATION,
            "nsamples": self.nsamples,
            "seqlen": self.seqlen,
            "seed": self.seed,
        }

    def describe(self) -> str:
        """One line for logs."""
        labels = self.labels()
        return (
            f"cell {self.index} [{self.cell_id}] {labels['method']} / {labels['calibration']} / "
            f"nsamples={self.nsamples} seqlen={self.seqlen} seed={self.seed}"
        )


def dense_id(spec: StudySpec) -> str:
    """Stable id of the dense model's evaluation (model and evaluation settings)."""
    return stable_id({"dense": asdict(spec.model), "data_dir": spec.data_dir, "evaluation": spec.evaluation.as_dict()})


def expand_cells(spec: StudySpec) -> list[Cell]:
    """Every cell of the grid in a stable order: methods, then calibration sets, nsamples, seqlen, seeds, then scans.

    A method that needs no calibration data (magnitude) gives a single cell; a method with a ``calibration``
    subset runs only on those sets; scans add cells (each cell appears once).
    """
    grid = spec.grid
    combos: list[tuple] = []
    for method in grid.methods:
        if not method.build().needs_calibration:
            combos.append((method, None, None, None, None))
            continue
        chosen = [c for c in grid.calibration if method.calibration is None or c.label in method.calibration]
        combos += [(method, *rest) for rest in itertools.product(chosen, grid.nsamples, grid.seqlen, grid.seeds)]
        by_title = {c.label: c for c in chosen}
        for scan in grid.scans:
            if scan.calibration in by_title and (scan.methods is None or method.label in scan.methods):
                combos += [
                    (method, by_title[scan.calibration], *rest)
                    for rest in itertools.product(
                        scan.nsamples or grid.nsamples, scan.seqlen or grid.seqlen, scan.seeds or grid.seeds
                    )
                ]
    cells, seen = [], set()
    for combo in combos:
        cell = Cell(len(cells), spec, *combo)
        if cell.cell_id not in seen:  # a scan value equal to the grid's is the grid's cell
            seen.add(cell.cell_id)
            cells.append(cell)
    return cells


@dataclass(frozen=True)
class Shard:
    """Part ``index`` of ``count`` of the cells: those whose position modulo ``count`` is ``index``.

    Attributes:
        index: this shard, ``0 <= index < count``.
        count: number of shards.
    """

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Parse ``i/n`` (``--shard 0/4``; ``$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`` in a job array)."""
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"--shard must be i/n with integers 0 <= i < n, got {text!r}") from None
        if not 0 <= index < count:
            raise ValueError(f"--shard must be i/n with integers 0 <= i < n, got {text!r}")
        return cls(index, count)

    def select(self, cells: list[Cell]) -> list[Cell]:
        """The cells of this shard."""
        return [cell for cell in cells if cell.index % self.count == self.index]

    @property
    def tag(self) -> str:
        """File-name tag, e.g. ``shard-0-of-4``."""
        return f"shard-{self.index}-of-{self.count}"
