"""Every shipped YAML config parses with the real ``calibprune`` parser and builds its model, data and method."""

import functools
from pathlib import Path

import pytest

from calibprune.callbacks.base import find_pruning_method
from calibprune.cli import main
from calibprune.command_line.jobs import CalibpruneTrainer
from calibprune.evaluation.datamodule import EvaluationDataModule

CONFIGS = Path(__file__).resolve().parents[2] / "calibprune" / "configs"
SHIPPED = sorted(CONFIGS.rglob("*.yaml"))
PAPER_TABLES = {f"table{n}" for n in range(2, 10)}


def _subcommand(path: Path) -> str:
    return "study" if path.parent.name == "studies" else "prune"


@pytest.fixture
def built(monkeypatch, tmp_path):
    """Replace the jobs by recorders of what the CLI built from the config (same signatures, same options)."""
    monkeypatch.chdir(tmp_path)
    calls = {}

    def recorder(job):
        @functools.wraps(job)
        def record(self, model, datamodule=None, **kwargs):
            calls.update(trainer=self, model=model, data=datamodule, **kwargs)

        return record

    for name in ("prune", "study"):
        monkeypatch.setattr(CalibpruneTrainer, name, recorder(getattr(CalibpruneTrainer, name)))
    return calls


def test_a_config_per_paper_table_ships():
    assert {path.name.split("_")[0] for path in (CONFIGS / "paper").glob("*.yaml")} == PAPER_TABLES
    assert (CONFIGS / "quickstart.yaml").is_file()


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(CONFIGS)) for p in SHIPPED])
def test_shipped_config_parses_and_builds(built, path):
    main([_subcommand(path), "--config", str(path), "--trainer.logger", "false"])
    assert built["model"].model_name
    if _subcommand(path) == "prune":
        method = find_pruning_method(built["trainer"].callbacks)
        assert 0 <= method.pattern.ratio < 1
        assert built["data"].nsamples > 0 and built["data"].calibration
        if built["tasks"]:
            EvaluationDataModule(tasks=built["tasks"])  # task names are checked too
