"""OWL and per-block lists through the pipeline: ratios from the dense model's statistics, exact mean sparsity."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from calibprune.callbacks import RIA, DSnoT, SparseGPT, Wanda
from calibprune.engine.owl import owl_sparsities
from calibprune.modeling.loading import load_model
from calibprune.modeling.plan import PruningPlan
from tests.architectures.conftest import tiny_config
from tests.architectures.helpers import matrices, prune

BLOCKS = 4


@pytest.fixture(scope="module")
def deep_llama(tmp_path_factory, tokenizer):
    config = tiny_config("llama", len(tokenizer))
    config.num_hidden_layers = BLOCKS
    torch.manual_seed(1)
    folder = tmp_path_factory.mktemp("tiny-llama-4")
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _direct_outlier_ratios(folder, token_file, m):
    """D_l computed straight from the dense model: Wanda scores of all the block's Linear layers together."""
    model = load_model(str(folder))
    data = torch.load(token_file)
    ids, mask = data["input_ids"], data["attention_mask"]
    plan = PruningPlan.build(model)
    inputs, handles = {}, []
    for index, block in enumerate(model.model.layers):
        for name, layer in plan.layers(index, block).items():
            handles.append(
                layer.module.register_forward_pre_hook(
                    lambda _m, args, key=(index, name): inputs.__setitem__(key, args[0])
                )
            )
    with torch.no_grad():
        model(input_ids=ids, attention_mask=mask)
    for handle in handles:
        handle.remove()
    ratios = []
    for index, block in enumerate(model.model.layers):
        scores = []
        for name, layer in plan.layers(index, block).items():
            x = inputs[(index, name)].reshape(-1, layer.in_features)[mask.reshape(-1).bool()].double()
            scores.append((layer.weight.double().abs() * x.norm(dim=0)).flatten())
        everything = torch.cat(scores)
        ratios.append(float((everything > m * everything.mean()).double().mean()))
    return ratios


@pytest.mark.parametrize("method", [Wanda, SparseGPT, RIA, DSnoT])
def test_owl_ratios_match_a_direct_computation_and_average_to_the_target(deep_llama, arch_tokens, method):
    callback = method(sparsity_ratio=0.6, owl=True, owl_m=3.0, owl_lambda=0.1)
    module = prune(deep_llama, callback, arch_tokens)
    direct = _direct_outlier_ratios(deep_llama, arch_tokens, 3.0)
    owl = module.report["owl"]
    assert owl["outlier_ratios"] == pytest.approx(direct, abs=2e-4)
    assert len(set(direct)) > 1  # the blocks differ, so the ratios are not uniform
    ratios = module.report["block_sparsity"]
    assert ratios == pytest.approx(owl_sparsities(direct, 0.6, 0.1), abs=1e-3)
    assert abs(sum(ratios) / BLOCKS - 0.6) < 1e-12
    assert max(ratios) - min(ratios) == pytest.approx(0.2)
    per_block = {b: [] for b in range(BLOCKS)}
    for name, weight in matrices(module.model).items():
        per_block[int(name.split(".")[2])].append(weight)
    for block, weights in per_block.items():
        for weight in weights:
            if method in (Wanda, DSnoT):
                assert int((weight == 0).sum(dim=1)[0]) == int(weight.shape[1] * ratios[block])
            elif method is RIA:
                assert int((weight == 0).sum()) == int(weight.numel() * ratios[block])
            else:
                assert abs(float((weight == 0).float().mean()) - ratios[block]) < 2 / weight.shape[1]
    assert 0 <= 0.6 - module.report["global"]["sparsity"] < 1 / 32  # counts are floored (per row: width 32)


def test_explicit_block_list(deep_llama, arch_tokens):
    module = prune(deep_llama, Wanda(layer_sparsity=[0.4, 0.5, 0.6, 0.75]), arch_tokens)
    for name, weight in matrices(module.model).items():
        ratio = [0.4, 0.5, 0.6, 0.75][int(name.split(".")[2])]
        assert (weight == 0).sum(dim=1).tolist() == [int(weight.shape[1] * ratio)] * weight.shape[0], name
    assert module.report["block_sparsity"] == [0.4, 0.5, 0.6, 0.75]
    with pytest.raises(ValueError, match="^layer_sparsity: 2 ratios; the model has 4 decoder blocks"):
        prune(deep_llama, Wanda(layer_sparsity=[0.5, 0.5]), arch_tokens)


def test_bad_owl_options():
    with pytest.raises(ValueError, match="choose one"):
        Wanda(layer_sparsity=[0.5], owl=True)
    with pytest.raises(ValueError, match="need unstructured sparsity"):
        Wanda(sparsity_type="2:4", owl=True)
    with pytest.raises(ValueError, match="layer_sparsity: \\(mean 0.5\\) contradicts sparsity_ratio 0.7"):
        Wanda(sparsity_ratio=0.7, layer_sparsity=[0.4, 0.6])
    with pytest.raises(ValueError, match=r"layer_sparsity: ratio 1 is 1.2; accepted: ratios in \[0, 1\)"):
        Wanda(layer_sparsity=[0.4, 1.2])


@pytest.mark.parametrize(
    "options", [{"onload": True, "offload_activations": True}, {"stream": True}], ids=["onload", "stream"]
)
def test_owl_onloaded_or_streamed_equals_in_memory(deep_llama, arch_tokens, tmp_path, options):
    reference = prune(deep_llama, Wanda(0.6, owl=True, owl_m=3.0), arch_tokens)
    module = prune(deep_llama, Wanda(0.6, owl=True, owl_m=3.0), arch_tokens, save=tmp_path / "out", **options)
    assert module.report["block_sparsity"] == reference.report["block_sparsity"]
    assert module.report["layers"] == reference.report["layers"]
