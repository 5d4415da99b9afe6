"""Streaming the embedded model from disk keeps peak RSS well below its size, with the in-memory masks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.scale.conftest import REPO, assert_bitwise_equal, saved_tensors

NSAMPLES, SEQLEN, HIDDEN = 8, 128, 576


@pytest.mark.slow
def test_streamed_pruning_peak_rss_is_well_below_the_model_size(tmp_path):
    out = tmp_path / "memory.json"
    cmd = [
        sys.executable,
        str(REPO / "benchmarks" / "memory_benchmark.py"),
        "--modes",
        "baseline,in-memory,stream",
        "--nsamples",
        str(NSAMPLES),
        "--seqlen",
        str(SEQLEN),
        "--save_dir",
        str(tmp_path),
        "--out",
        str(out),
    ]
    subprocess.run(cmd, check=True, cwd=tmp_path, timeout=3000)
    report = json.loads(out.read_text())
    size, results = report["fp32_size_mb"], {r["mode"]: r for r in report["results"]}
    activations = NSAMPLES * SEQLEN * HIDDEN * 4 / 2**20
    assert results["stream"]["above_baseline_mb"] < 0.5 * size
    in_memory = results["in-memory"]
    assert in_memory["above_baseline_mb"] <= 1.5 * size + activations, in_memory  # with its sampled breakdown
    assert_bitwise_equal(saved_tensors(tmp_path / "in-memory"), saved_tensors(tmp_path / "stream"))
