"""RIA and DSnoT in a study grid: named like the other methods, with their own options."""

from __future__ import annotations

import math
from pathlib import Path

from calibprune.cli import main
from calibprune.study.spec import MethodEntry
from calibprune.study.store import read_records
from tests.study.test_commands import write_yaml


def test_a_study_runs_ria_and_dsnot_cells(tiny_spec, tmp_path, capsys):
    tiny_spec.grid.seeds = [0]
    tiny_spec.grid.calibration = tiny_spec.grid.calibration[:1]
    tiny_spec.grid.methods = [
        MethodEntry("RIA", sparsity_type="2:4"),
        MethodEntry("DSnoT", sparsity_ratio=0.5, options={"initial": "sparsegpt", "max_cycle_time": 10}),
    ]
    tiny_spec.evaluation.tasks = ["wikitext"]
    tiny_spec.evaluation.limits = {}
    main(["study", "--config", str(write_yaml(tiny_spec, tmp_path / "study.yaml"))])
    assert "2/2 cells" in capsys.readouterr().out
    cells = [r for r in read_records(tiny_spec.output_dir) if r["kind"] == "cell"]
    assert sorted(r["params"]["method"]["method"] for r in cells) == ["DSnoT", "RIA"]
    for record in cells:
        assert record["sparsity"]["sparsity"] == 0.5
        ppl = [r["value"] for r in record["results"] if r["task"] == "wikitext" and r["metric"] == "ppl"]
        assert len(ppl) == 1 and math.isfinite(ppl[0])
    table = (Path(tiny_spec.output_dir) / "table.md").read_text()
    assert "RIA 2:4" in table and "DSnoT 50%" in table
