"""A study's whole grid is checked from its files before anything is written, on every path that runs it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from calibprune.errors import OptionError
from calibprune.study.commands import run_and_report
from calibprune.study.preflight import check_grid
from calibprune.study.spec import CalibrationEntry, MethodEntry, ScanEntry


def test_run_and_report_checks_the_grid_before_writing(tiny_spec, tmp_path):
    """``python -m calibprune.study run`` and API use meet the same checks as ``calibprune study``."""
    tokens = tmp_path / "tokens.pt"
    torch.save(torch.randint(0, 100, (3, 32)), tokens)
    tiny_spec.grid.calibration = [CalibrationEntry([str(tokens)], name="T")]
    with pytest.raises(OptionError, match=r"^grid.nsamples: 'T': 4: token file .* holds only 3 sequences"):
        run_and_report(tiny_spec)
    assert not Path(tiny_spec.output_dir).exists()


def test_every_cell_size_of_a_scan_is_checked(tiny_spec, tmp_path):
    tokens = tmp_path / "tokens.pt"
    torch.save(torch.randint(0, 100, (8, 32)), tokens)
    tiny_spec.grid.calibration = [CalibrationEntry([str(tokens)], name="T")]
    check_grid(tiny_spec)
    tiny_spec.grid.scans = [ScanEntry(calibration="T", nsamples=[16])]
    with pytest.raises(OptionError, match=r"^grid.nsamples: 'T': 16: token file .* holds only 8 sequences"):
        check_grid(tiny_spec)


def test_layer_sparsity_is_held_against_config_json(tiny_spec):
    tiny_spec.grid.methods = [MethodEntry("Wanda", options={"layer_sparsity": [0.4, 0.5, 0.6]})]
    with pytest.raises(OptionError, match=r"^grid.methods: Wanda 50%: layer_sparsity: 3 ratios; the model has 2"):
        check_grid(tiny_spec)
    tiny_spec.grid.methods = [MethodEntry("Wanda", options={"layer_sparsity": [0.4, 0.6]})]
    check_grid(tiny_spec)
