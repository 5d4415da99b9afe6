"""Masks against a direct computation: GPT-2's transposed Conv1D, one MoE expert on exactly its routed tokens."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from calibprune.callbacks import Wanda
from calibprune.engine.magnitude import magnitude_mask
from calibprune.engine.masks import row_mask
from calibprune.engine.sparsity import SparsityPattern
from calibprune.modeling.loading import load_model
from tests.architectures.helpers import prune


def _calibration(token_file):
    data = torch.load(token_file)
    return data["input_ids"], data["attention_mask"]


def _inputs_of(model, module, ids, mask):
    """What ``module`` receives (args) when the dense model runs on the calibration tokens."""
    seen = []
    handle = module.register_forward_pre_hook(lambda _m, args: seen.append(args))
    with torch.no_grad():
        model(input_ids=ids, attention_mask=mask)
    handle.remove()
    return seen[0]


def test_conv1d_mask_is_wanda_on_the_transposed_weight(arch_dir, arch_tokens):
    folder = arch_dir("gpt2")
    dense = load_model(str(folder))
    ids, mask = _calibration(arch_tokens)
    c_attn = dense.transformer.h[0].attn.c_attn
    (inputs,) = _inputs_of(dense, c_attn, ids, mask)
    rows = inputs.reshape(-1, inputs.shape[-1])[mask.reshape(-1).bool()]
    weight = c_attn.weight.detach().T  # Conv1D stores [in, out]
    expected = row_mask(weight.abs() * rows.norm(dim=0), 0.5)
    pruned = prune(folder, Wanda(0.5), arch_tokens).model.transformer.h[0].attn.c_attn.weight.T
    assert torch.equal(pruned == 0, expected)
    assert torch.equal(pruned[~expected], weight[~expected])


def test_moe_expert_mask_is_wanda_on_its_routed_tokens(arch_dir, arch_tokens):
    folder = arch_dir("mixtral")
    dense = load_model(str(folder))
    ids, mask = _calibration(arch_tokens)
    experts = dense.model.layers[0].mlp.experts
    hidden, top_k_index, _ = _inputs_of(dense, experts, ids, mask)
    pruned = prune(folder, Wanda(0.5), arch_tokens).model.model.layers[0].mlp.experts
    for expert in range(experts.num_experts):
        routed = (top_k_index == expert).any(dim=-1) & mask.reshape(-1).bool()
        assert 0 < int(routed.sum()) < int(mask.sum())  # a proper subset of the real tokens
        x = hidden[routed]
        gate_up = experts.gate_up_proj[expert].detach()
        gate, up = F.linear(x, gate_up).chunk(2, dim=-1)
        middle = experts.act_fn(gate) * up
        down = experts.down_proj[expert].detach()
        assert torch.equal(pruned.gate_up_proj[expert] == 0, row_mask(gate_up.abs() * x.norm(dim=0), 0.5))
        assert torch.equal(pruned.down_proj[expert] == 0, row_mask(down.abs() * middle.norm(dim=0), 0.5))


def test_an_expert_without_tokens_falls_back_to_magnitude_and_is_reported(arch_dir, arch_tokens, caplog):
    folder = arch_dir("mixtral")
    dense = load_model(str(folder))

    def never_route_to_expert_3(module):
        for layer in module.model.model.layers:

            def reroute(_m, _args, out):
                logits, scores, indices = out
                return logits, scores, torch.where(indices == 3, (indices + 1) % 3, indices)

            layer.mlp.gate.register_forward_hook(reroute)

    with caplog.at_level("WARNING"):
        module = prune(folder, Wanda(0.5), arch_tokens, before=never_route_to_expert_3)
    names = [f"model.layers.{b}.mlp.experts.{p}.3" for b in range(2) for p in ("gate_up_proj", "down_proj")]
    assert module.report["magnitude_fallback"] == names
    assert all(f"{name}: no calibration token reached it; pruned by magnitude" in caplog.text for name in names)
    for b in range(2):
        for projection in ("gate_up_proj", "down_proj"):
            dense_weight = getattr(dense.model.layers[b].mlp.experts, projection)[3].detach()
            pruned_weight = getattr(module.model.model.layers[b].mlp.experts, projection)[3]
            assert torch.equal(pruned_weight == 0, magnitude_mask(dense_weight, SparsityPattern(0.5)))
