from pathlib import Path

import pytest

from calibprune.study.cells import Shard, expand_cells
from calibprune.study.config import load_spec, spec_from_dict
from calibprune.study.spec import CalibrationEntry, MethodEntry

STUDIES = sorted((Path(__file__).resolve().parents[2] / "calibprune" / "configs" / "studies").glob("*.yaml"))


def grid(**overrides) -> dict:
    data = {
        "grid": {
            "calibration": [{"sources": ["c4"]}, {"sources": ["gsm8k"], "format": "zero-shot"}],
            "methods": [{"method": "Wanda"}, {"method": "SparseGPT", "sparsity_type": "2:4"}, {"method": "Magnitude"}],
            "nsamples": [8, 16],
            "seqlen": 64,
            "seeds": [0, 1, 2],
        }
    }
    data["grid"].update(overrides)
    return data


def test_cells_cross_every_axis_and_magnitude_needs_no_calibration():
    cells = expand_cells(spec_from_dict(grid()))
    assert len(cells) == 2 * (2 * 2 * 1 * 3) + 1
    assert [c.index for c in cells] == list(range(len(cells)))
    magnitude = cells[-1]
    assert magnitude.calibration is None and magnitude.labels()["calibration"] == "none"
    assert {c.labels()["method"] for c in cells} == {"Wanda 50%", "SparseGPT 2:4", "Magnitude 50%"}
    assert cells[12].labels()["calibration"] == "c4" and cells[18].labels()["calibration"] == "gsm8k (zero-shot)"


def test_cell_ids_are_stable_and_ignore_titles():
    first = [c.cell_id for c in expand_cells(spec_from_dict(grid()))]
    assert first == [c.cell_id for c in expand_cells(spec_from_dict(grid()))]
    assert len(set(first)) == len(first)
    renamed = grid(calibration=[{"sources": ["c4"], "name": "C4"}, {"sources": ["gsm8k"], "format": "zero-shot"}])
    assert [c.cell_id for c in expand_cells(spec_from_dict(renamed))] == first
    other = spec_from_dict({**grid(), "evaluation": {"limit": 5}})
    assert not set(first) & {c.cell_id for c in expand_cells(other)}


def test_shards_partition_the_cells():
    cells = expand_cells(spec_from_dict(grid()))
    shards = [Shard.parse(f"{i}/3").select(cells) for i in range(3)]
    ids = [c.cell_id for shard in shards for c in shard]
    assert sorted(ids) == sorted(c.cell_id for c in cells)
    assert Shard.parse("1/3").tag == "shard-1-of-3"


@pytest.mark.parametrize("text", ["3/3", "-1/2", "1", "a/b"])
def test_bad_shard_is_refused(text):
    with pytest.raises(ValueError, match="--shard must be i/n"):
        Shard.parse(text)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"grid": {"calibration": []}}, "grid.calibration: at least one"),
        ({"grid": {"calibration": [{"sources": []}]}}, "has no sources"),
        ({"grid": {"calibration": [{"source": ["c4"]}]}}, "grid.calibration: .*unexpected keyword"),
        ({"grid": {"calibration": [{"sources": ["c4"]}, {"sources": ["c4"]}]}}, "same title"),
        ({"grid": {"calibration": [{"sources": ["c4"]}], "seeds": []}}, "grid.seeds: at least one"),
        ({"grid": {"calibration": [{"sources": ["c4"]}], "methods": [{"method": "Nope"}]}}, "unknown method"),
        ({"grid": {"calibration": [{"sources": ["c4"]}]}, "evaluaton": {}}, "unknown keys"),
    ],
)
def test_bad_study_is_refused_with_the_key_named(data, message):
    with pytest.raises(ValueError, match=message):
        spec_from_dict(data)


def test_labels():
    assert CalibrationEntry(["c4", "gsm8k"], weights=[3, 1]).label == "c4+gsm8k [3:1]"
    assert CalibrationEntry(["gsm8k"], options={"num_incontext": 5}).label == "gsm8k (num_incontext=5)"
    assert MethodEntry("SparseGPT", 0.7).label == "SparseGPT 70%"


@pytest.mark.parametrize("path", STUDIES, ids=[p.stem for p in STUDIES])
def test_every_shipped_study_parses(path):
    spec = load_spec(path)
    assert expand_cells(spec)
    assert spec.output_dir


def test_per_task_limits_override_the_limit():
    evaluation = {"tasks": ["wikitext", "esnli"], "limit": 8, "limits": {"esnli": 50}}
    spec = spec_from_dict({**grid(), "evaluation": evaluation})
    assert [spec.evaluation.limit_of(t) for t in spec.evaluation.tasks] == [8, 50]


def test_shared_exemplars_reach_the_evaluation_and_change_ids_only_when_set():
    first = [c.cell_id for c in expand_cells(spec_from_dict(grid()))]
    off = spec_from_dict({**grid(), "evaluation": {"shared_exemplars": False}})
    assert [c.cell_id for c in expand_cells(off)] == first  # studies written before the option keep their ids
    on = spec_from_dict({**grid(), "evaluation": {"shared_exemplars": True}})
    assert not set(first) & {c.cell_id for c in expand_cells(on)}
    assert on.evaluation.options(None, "esnli").shared_exemplars and not off.evaluation.options(None).shared_exemplars


def test_method_subsets_and_scans_add_cells_once():
    data = grid(
        methods=[{"method": "Wanda"}, {"method": "SparseGPT", "calibration": ["c4"]}],
        nsamples=[8],
        seeds=[0, 1],
        scans=[{"calibration": "c4", "nsamples": [4, 8, 32]}, {"calibration": "c4", "seqlen": [32, 64]}],
    )
    cells = expand_cells(spec_from_dict(data))
    wanda = [c for c in cells if c.method.method == "Wanda"]
    sparsegpt = [c for c in cells if c.method.method == "SparseGPT"]
    # grid: 2 sets x 2 seeds; scans on c4: nsamples 4 and 32 (8 is the grid's), seqlen 32 (64 is the grid's)
    assert len(wanda) == 4 + 2 * 2 + 2 and len(sparsegpt) == 2 + 2 * 2 + 2
    assert {c.calibration.label for c in sparsegpt} == {"c4"}
    assert {(c.nsamples, c.seqlen) for c in wanda if c.calibration.label == "c4"} == {
        (8, 64),
        (4, 64),
        (32, 64),
        (8, 32),
    }
    assert len({c.cell_id for c in cells}) == len(cells) and [c.index for c in cells] == list(range(len(cells)))
    data["grid"]["scans"][0]["methods"] = ["Wanda 50%"]
    assert len(expand_cells(spec_from_dict(data))) == len(cells) - 2 * 2  # SparseGPT's nsamples scan dropped
    plain = expand_cells(spec_from_dict(grid(methods=[{"method": "SparseGPT"}], nsamples=[8], seeds=[0, 1])))
    subset = {c.cell_id for c in sparsegpt}
    assert {c.cell_id for c in plain if c.calibration.label == "c4"} <= subset  # the subset does not change ids


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"methods": [{"method": "Wanda", "calibration": ["C5"]}]}, r"grid.methods\[\].calibration: unknown"),
        ({"scans": [{"calibration": "C5", "nsamples": [4]}]}, r"grid.scans\[\].calibration: unknown title 'C5'"),
        ({"scans": [{"calibration": "c4", "nsamples": []}]}, r"grid.scans\[\].nsamples"),
        ({"scans": [{"calibration": "c4", "nsamples": [4], "methods": ["Nope"]}]}, r"grid.scans\[\].methods"),
    ],
)
def test_bad_subsets_and_scans_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        spec_from_dict(grid(**overrides))


def test_method_entry_ratio_defaults_to_the_pattern_and_an_explicit_contradiction_fails():
    from calibprune.study.spec import MethodEntry

    assert MethodEntry().sparsity_ratio == 0.5
    assert MethodEntry(sparsity_type="1:4").sparsity_ratio == 0.25
    assert MethodEntry(sparsity_type="1:4").build().pattern.ratio == 0.25
    with pytest.raises(ValueError, match="sparsity_ratio: 0.5 contradicts sparsity_type 1:4"):
        MethodEntry(sparsity_type="1:4", sparsity_ratio=0.5).build()
