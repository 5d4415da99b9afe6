"""The reproduction v2 study reads every calibration set offline from ../shared/data (OSCAR: skipped)."""

import dataclasses
from pathlib import Path

import pytest

from calibprune.study.cells import expand_cells
from calibprune.study.config import load_spec
from calibprune.study.preflight import check_calibration
from tests.conftest import SHARED_DATA

CONFIG = Path(__file__).resolve().parents[2] / "calibprune" / "configs" / "studies" / "reproduction_v2.yaml"


def assert_issue_axes(cells) -> None:
    """The axes the issue asks of every v2 grid: >= 10 sets (the named ones), three formats, 3 seeds, both methods."""
    sets = {c.calibration.label for c in cells}
    assert (
        len(sets) >= 10 and {"C4", "Pile", "RedPajama", "GSM8K", "e-SNLI", "CSQA", "ellipses", "self-generated"} <= sets
    )
    for source in ("gsm8k", "esnli"):
        assert {c.calibration.format for c in cells if c.calibration.sources == [source]} == {
            "icl",
            "zero-shot",
            "icl-cot",
        }
    assert {c.seed for c in cells} == {0, 1, 2}
    assert {c.method.method for c in cells} == {"Wanda", "SparseGPT"}


def test_the_grid_meets_the_issue():
    spec = load_spec(CONFIG)
    cells = expand_cells(spec)
    assert_issue_axes(cells)
    assert len({c.nsamples for c in cells}) >= 4 and len({c.seqlen for c in cells}) >= 4
    assert spec.evaluation.limit >= 200 and not spec.evaluation.limits


@pytest.mark.data
def test_every_calibration_set_is_available_offline_but_oscar(tokenizer, monkeypatch):
    import datasets

    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent")
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("offline")))
    spec = dataclasses.replace(load_spec(CONFIG), data_dir=str(SHARED_DATA))
    found = check_calibration(expand_cells(spec), tokenizer, spec.data_dir)
    assert set(found.unavailable) == {"OSCAR"}
    pile, c4 = found.pool_tokens["Pile"][0], found.pool_tokens["C4"][0]
    assert 64 * 256 <= pile < c4  # the largest budget of the scans fits the Pile sample


CPU_CONFIG = CONFIG.with_name("reproduction_v2_cpu.yaml")
ROOT = CONFIG.parents[3]


def test_the_session_sized_grid_keeps_the_issue_axes():
    spec = load_spec(CPU_CONFIG)
    cells = expand_cells(spec)
    assert_issue_axes(cells)
    assert {c.nsamples for c in cells} == {16, 64} and {c.seqlen for c in cells} == {256, 1024}
    assert spec.evaluation.shared_exemplars and spec.evaluation.limit == 200
    assert all(spec.evaluation.limit_of(task) >= 200 for task in spec.evaluation.tasks if task != "wikitext")


def test_the_committed_session_run_holds_every_cell_of_its_config():
    from calibprune.study.cells import dense_id
    from calibprune.study.store import finished_ids

    spec = load_spec(CPU_CONFIG)
    done = finished_ids(ROOT / spec.output_dir)
    assert dense_id(spec) in done
    assert {c.cell_id for c in expand_cells(spec)} <= done
