"""Every architecture family, pruned by every method: exact sparsity in every matrix, saved, reloaded."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM

from calibprune.callbacks import RIA, DSnoT, SparseGPT, Wanda
from tests.architectures.conftest import ARCHITECTURES
from tests.architectures.helpers import matrices, prune

KINDS = {"gpt2": {"conv1d"}, "mixtral": {"linear", "expert"}, "qwen2_moe": {"linear", "expert"}}


METHODS = {
    "wanda": lambda: Wanda(0.5),
    "sparsegpt": lambda: SparseGPT(0.5, blocksize=16),
    "ria": lambda: RIA(sparsity_ratio=0.5),
    "dsnot": lambda: DSnoT(sparsity_ratio=0.5, skip_layer=None),
}


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_architecture_is_pruned_exactly_saved_and_reloaded(arch, method, arch_dir, arch_tokens, tmp_path):
    callback = METHODS[method]()
    module = prune(arch_dir(arch), callback, arch_tokens, save=tmp_path / "pruned")
    pruned = matrices(module.model)
    assert set(module.plan.kinds[0]) == KINDS.get(arch, {"linear"})
    for name, weight in pruned.items():
        zeros = weight == 0
        if method in ("wanda", "dsnot"):  # per output row
            assert zeros.sum(dim=1).tolist() == [weight.shape[1] // 2] * weight.shape[0], name
        elif method == "ria":  # the whole matrix
            assert int(zeros.sum()) == weight.numel() // 2, name
        else:  # per block of 16 columns
            assert [int(b.sum()) for b in zeros.split(16, dim=1)] == [b.numel() // 2 for b in zeros.split(16, dim=1)]
    report = module.report
    assert set(report["layers"]) == set(pruned) and report["global"]["sparsity"] == 0.5
    coverage = report["coverage"]
    assert coverage["pruned_weights"] == sum(w.numel() for w in pruned.values())
    assert coverage["pruned_weights"] + sum(coverage["not_pruned"].values()) == coverage["block_weights"]
    assert json.loads((tmp_path / "pruned" / "sparsity_report.json").read_text())["coverage"] == coverage

    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "pruned").eval()
    for name, weight in matrices(reloaded).items():
        assert torch.equal(weight, pruned[name]), name
    ids = torch.randint(3, 256, (2, 24), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert torch.allclose(reloaded(ids).logits, module.model.eval()(ids).logits, atol=1e-5)
