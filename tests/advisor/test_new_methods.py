"""``advise`` with RIA and DSnoT: the candidates are pruned by the method chosen, like Wanda's."""

from __future__ import annotations

import json
import math

import pytest

from tests.advisor.test_advise_cli import advise_args, in_tmp_dir, target_file  # noqa: F401 (fixtures)
from tests.cli.helpers import run_cli


@pytest.mark.parametrize("method", [["--prune_method", "ria"], ["--method", "DSnoT", "--method.sparsity_type", "2:4"]])
def test_advise_ranks_with_the_new_methods(capsys, tiny_llama_dir, target_file, in_tmp_dir, method):  # noqa: F811
    code, _, err = run_cli(
        capsys, *advise_args(tiny_llama_dir, target_file, *method, "--output_dir", "advice", "--all_proxies", "true")
    )
    assert code == 0, err
    advice = json.loads((in_tmp_dir / "advice" / "advice.json").read_text())
    assert [r["rank"] for r in advice["rows"]] == [1, 2, 3]
    assert all(math.isfinite(r["proxies"]["reconstruction"]) for r in advice["rows"])
    assert advice["seconds"]["prune_probe"] > 0  # the candidates were pruned (by the method chosen)
