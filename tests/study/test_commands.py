import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import yaml

from calibprune.cli import main
from calibprune.study.cells import expand_cells
from calibprune.study.commands import main as study_main
from calibprune.study.store import read_records, results_path


def write_yaml(spec, path: Path, **changes) -> Path:
    data = asdict(spec)
    data.update(changes)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_calibprune_study_subcommand_runs_the_grid_and_reports(tiny_spec, tmp_path, capsys):
    tiny_spec.grid.seeds = [0]
    tiny_spec.grid.calibration = tiny_spec.grid.calibration[:1]
    config = write_yaml(tiny_spec, tmp_path / "study.yaml")
    main(["study", "--config", str(config)])
    out = Path(tiny_spec.output_dir)
    assert "1/1 cells" in capsys.readouterr().out
    assert {"report.md", "table.md", "table.csv", "summary.csv"} <= {p.name for p in out.iterdir()}
    assert len(read_records(out)) == 2  # the dense model and the one cell


def test_sigkill_mid_grid_then_resume_redoes_no_finished_cell(tiny_spec, tmp_path):
    """Kill a real run with SIGKILL once its first cell is on disk; the resumed run only does the other."""
    tiny_spec.grid.calibration = tiny_spec.grid.calibration[:1]  # 2 cells: one source, 2 seeds
    config = write_yaml(tiny_spec, tmp_path / "study.yaml")
    results = results_path(tiny_spec.output_dir)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        [sys.executable, "-m", "calibprune.study", "run", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if results.is_file() and results.read_text().count('"kind": "cell"') >= 1:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    lines = results.read_text().splitlines()
    killed = [json.loads(line)["id"] for line in lines if '"kind": "cell"' in line]
    assert len(killed) == 1

    study_main(["run", "--config", str(config), "--report", "false"])
    records = [json.loads(line) for line in results.read_text().splitlines()]
    cells = [r["id"] for r in records if r["kind"] == "cell"]
    assert sorted(cells) == sorted(c.cell_id for c in expand_cells(tiny_spec))  # each cell exactly once
    assert [r["kind"] for r in records].count("dense") == 1
    assert records[: len(lines)] == [json.loads(line) for line in lines]  # append-only


def test_shards_then_report_merges_them(tiny_spec, tmp_path, capsys):
    tiny_spec.grid.seeds = [0]
    config = write_yaml(tiny_spec, tmp_path / "study.yaml")
    for shard in ("0/2", "1/2"):
        study_main(["run", "--config", str(config), "--shard", shard])
    out = Path(tiny_spec.output_dir)
    assert sorted(p.name for p in out.glob("results*.jsonl")) == [
        "results-shard-0-of-2.jsonl",
        "results-shard-1-of-2.jsonl",
    ]
    assert not (out / "report.md").exists()  # shards leave the report to the merge step
    study_main(["report", str(out), "--plots", "false", "--tensorboard", "false"])
    assert "2/2 cells" in capsys.readouterr().out
    assert "| c4 (ref) | Random |" in (out / "table.md").read_text().splitlines()[0] + "|"
