import dataclasses
import statistics
from pathlib import Path

import pytest

from calibprune.study import backend
from calibprune.study.aggregate import summarise
from calibprune.study.cells import expand_cells
from calibprune.study.report import write_report
from calibprune.study.runner import run_study
from calibprune.study.store import read_records

PRUNE, EVALUATE = backend.prune_cell, backend.evaluate


class SimulatedCrash(Exception):
    pass


class Counting:
    """Wrap the backend's calls: count prunes, count dense evaluations, fail on the n-th prune."""

    def __init__(self, monkeypatch, fail_on_prune: int | None = None) -> None:
        self.prunes, self.dense_evaluations, self.cell_evaluations = [], 0, 0
        self.fail_on_prune = fail_on_prune

        def counting_prune(model, tokenizer, cell):
            if self.fail_on_prune is not None and len(self.prunes) + 1 == self.fail_on_prune:
                raise SimulatedCrash("killed mid-grid")
            self.prunes.append(cell.cell_id)
            return PRUNE(model, tokenizer, cell)

        def counting_evaluate(model, tokenizer, evaluation, **kwargs):
            if kwargs.get("cache") is not None:
                self.dense_evaluations += 1
            else:
                self.cell_evaluations += 1
            return EVALUATE(model, tokenizer, evaluation, **kwargs)

        monkeypatch.setattr(backend, "prune_cell", counting_prune)
        monkeypatch.setattr(backend, "evaluate", counting_evaluate)


def test_grid_prunes_once_per_cell_resumes_after_a_crash_and_tabulates_seeds(tiny_spec, monkeypatch):
    cells = expand_cells(tiny_spec)
    assert len(cells) == 4  # 2 sources x 2 seeds

    first = Counting(monkeypatch, fail_on_prune=3)
    with pytest.raises(SimulatedCrash):
        run_study(tiny_spec)
    assert len(first.prunes) == 2 and first.dense_evaluations == 1 and first.cell_evaluations == 2
    finished = {r["id"] for r in read_records(tiny_spec.output_dir) if r["kind"] == "cell"}
    assert finished == set(first.prunes)

    resumed = Counting(monkeypatch)
    run_study(tiny_spec)
    assert resumed.dense_evaluations == 0  # read from the results file, never evaluated again
    assert set(resumed.prunes) == {c.cell_id for c in cells} - finished and len(resumed.prunes) == 2
    assert resumed.cell_evaluations == 2

    again = Counting(monkeypatch)
    assert run_study(tiny_spec) == []
    assert again.prunes == [] and again.dense_evaluations == 0

    records = read_records(tiny_spec.output_dir)
    assert sorted(r["kind"] for r in records) == ["cell"] * 4 + ["dense"]
    for record in records:
        assert {(r["task"], r["metric"]) for r in record["results"]} >= {("wikitext", "ppl"), ("boolq", "acc")}
        assert {r["task"]: r["n"] for r in record["results"]} == {"wikitext": 6, "boolq": 5}  # per-task limits
        if record["kind"] == "cell":
            assert record["sparsity"]["sparsity"] == pytest.approx(0.5, abs=0.01)

    # The table's mean ± 2 std are the sample statistics (ddof=1) of the per-seed values.
    report = write_report(tiny_spec.output_dir, plots=False, tensorboard=False)
    assert report.cells_done == report.cells_expected == 4
    # A slice of the grid (one seed) counts its own cells; the others are named, nothing is negative.
    one_seed = dataclasses.replace(tiny_spec, grid=dataclasses.replace(tiny_spec.grid, seeds=[0]))
    sliced = write_report(tiny_spec.output_dir, plots=False, tensorboard=False, spec=one_seed)
    assert (sliced.cells_done, sliced.cells_expected) == (2, 2)
    text = (Path(tiny_spec.output_dir) / "report.md").read_text()
    assert "Cells finished: 2/2 of this grid (and 2 of other grids" in text and "cells left" not in text
    summary = summarise(records)
    assert [c.title for c in summary.columns] == ["c4", "Random"]
    row = next(r for r in summary.rows if (r.task, r.metric) == ("wikitext", "ppl"))
    for column in summary.columns:
        values = [
            next(x["value"] for x in r["results"] if (x["task"], x["metric"]) == ("wikitext", "ppl"))
            for r in records
            if r["kind"] == "cell" and r["labels"]["calibration"] == column.key[1]
        ]
        assert len(values) == 2
        mean = sum(values) / 2
        two_std = 2 * (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5  # sample std, ddof=1
        assert row.cells[column.key].mean == pytest.approx(mean)
        assert row.cells[column.key].two_std == pytest.approx(two_std)
        assert row.cells[column.key].two_std == pytest.approx(2 * statistics.stdev(values))
        half = row.cells[column.key].interval().half_width  # 95% t-interval: t_{0.975,1} s / sqrt(2)
        assert half == pytest.approx(12.706204736174705 * statistics.stdev(values) / 2**0.5)
        assert f"{mean:.2f} ± {half:.2f}" in (report.files[0].parent / "table.md").read_text()
    best = min(summary.columns, key=lambda c: row.cells[c.key].mean)
    assert row.best == {best.key}


def test_unavailable_calibration_data_is_skipped_and_retried(tiny_spec, monkeypatch):
    import datasets

    from calibprune.study.spec import CalibrationEntry

    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("offline")))
    tiny_spec.grid.calibration.append(CalibrationEntry(["oscar"], name="OSCAR"))
    tiny_spec.grid.seeds = [0]
    counting = Counting(monkeypatch)
    records = run_study(tiny_spec)
    assert len(records) == 2 and len(counting.prunes) == 2
    stored = read_records(tiny_spec.output_dir)
    skipped = [r for r in stored if r["kind"] == "skipped"]
    assert [r["labels"]["calibration"] for r in skipped] == ["OSCAR"]
    assert "oscar: cannot load oscar-corpus/OSCAR-2201" in skipped[0]["reason"]
    report = write_report(tiny_spec.output_dir, plots=False, tensorboard=False)
    text = (report.files[-1]).read_text()
    assert report.cells_done == 2 and report.cells_expected == 3 and "Skipped" in text and "OSCAR (1 cells)" in text
    again = Counting(monkeypatch)
    run_study(tiny_spec)  # checked again (still unavailable), nothing else re-run
    assert again.prunes == [] and again.dense_evaluations == 0


def test_a_pool_too_small_stops_the_study_before_any_pruning(tiny_spec, monkeypatch):
    tiny_spec.grid.nsamples = [400]  # the tiny c4 holds ~40 documents of ~100 tokens
    counting = Counting(monkeypatch)
    with pytest.raises(
        ValueError,
        match=r"grid.nsamples/grid.seqlen: calibration set 'c4' \(c4\) holds \d+ tokens, "
        r"fewer than 400 x 32 = 12800 .*allow_overlap",
    ):
        run_study(tiny_spec)
    assert counting.prunes == [] and counting.dense_evaluations == 0
    tiny_spec.grid.calibration[0].options = {"allow_overlap": True}
    tiny_spec.grid.calibration = tiny_spec.grid.calibration[:1]
    tiny_spec.grid.seeds = [0]
    tiny_spec.grid.nsamples = [64]
    run_study(tiny_spec)
    assert len(counting.prunes) == 1


def test_a_cell_killed_mid_evaluation_resumes_after_its_last_task(tiny_spec, monkeypatch):
    real, calls = backend.evaluate_model, []

    def flaky(model, tokenizer, tasks, *args, **kwargs):
        calls.append((tuple(tasks), kwargs.get("cache") is not None))
        if len(calls) == 4:  # dense wikitext, dense boolq, cell 0 wikitext, then cell 0 boolq dies
            raise SimulatedCrash("killed while evaluating boolq")
        return real(model, tokenizer, tasks, *args, **kwargs)

    tiny_spec.grid.seeds = [0]
    monkeypatch.setattr(backend, "evaluate_model", flaky)
    with pytest.raises(SimulatedCrash):
        run_study(tiny_spec)
    partial = [r for r in read_records(tiny_spec.output_dir, partial=True) if r["kind"] == "partial"]
    assert sorted(r["task"] for r in partial) == ["boolq", "wikitext", "wikitext"]  # dense: 2 tasks, cell: 1
    calls.clear()
    records = run_study(tiny_spec)
    assert calls == [(("boolq",), False), (("wikitext",), False), (("boolq",), False)]
    first = records[0]
    assert {r["task"] for r in first["results"]} == {"wikitext", "boolq"}
    assert set(first["timings"]["tasks_s"]) == {"wikitext", "boolq"}
    report = write_report(tiny_spec.output_dir, plots=False, tensorboard=False)
    assert report.cells_done == 2
