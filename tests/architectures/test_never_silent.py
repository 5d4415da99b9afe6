"""Nothing is skipped silently: the plan is listed first, unknown weight kinds and empty blocks are errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from transformers import AutoModelForCausalLM

from calibprune.modeling.plan import PruningPlan
from tests.architectures.conftest import tiny_config


def _llama():
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(tiny_config("llama", 256))


def test_an_unknown_weight_matrix_in_a_block_is_an_error():
    model = _llama()
    model.model.layers[1].mlp.register_parameter("scale_matrix", nn.Parameter(torch.ones(4, 4)))
    with pytest.raises(ValueError, match=r"model\.layers\.1 holds mlp\.scale_matrix \(\(4, 4\), in a LlamaMLP\)"):
        PruningPlan.build(model)


def test_an_embedding_inside_a_block_is_an_error():
    model = _llama()
    model.model.layers[0].extra = nn.Embedding(8, 32)
    with pytest.raises(ValueError, match="extra.weight .* does not know how to prune"):
        PruningPlan.build(model)


def test_a_block_with_nothing_prunable_is_an_error():
    class Norms(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = nn.Module()
            self.model.layers = nn.ModuleList([nn.LayerNorm(8), nn.LayerNorm(8)])

    with pytest.raises(ValueError, match=r"decoder block model\.layers\.0 \(LayerNorm\) has no weight matrix"):
        PruningPlan.build(Norms())


def test_the_plan_is_logged_with_matrices_weights_and_coverage(caplog):
    plan = PruningPlan.build(_llama())
    with caplog.at_level("INFO"):
        plan.log()
    assert "block 0: 7 matrices to prune (7 linear), 9,216 weights" in caplog.text
    assert "coverage: 18,432 of 18,560 decoder-block weights pruned (99.3%); not pruned: vectors" in caplog.text


def test_moe_plan_lists_experts_and_keeps_the_router():
    torch.manual_seed(0)
    plan = PruningPlan.build(AutoModelForCausalLM.from_config(tiny_config("mixtral", 256)))
    assert plan.kinds[0] == {"linear": 4, "expert": 8}
    assert "mlp.experts.down_proj.3" in plan.names[0] and plan.kept["router"] == 2 * 4 * 32
