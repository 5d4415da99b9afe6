"""Acceptance of the pruning engine against the plain-PyTorch reference (benchmarks/reference.py).

Embedded SmolLM2-135M, 16 x 256 C4 tokens shared by both implementations. Wanda masks are compared
teacher-forced: block by block, the reference prunes a dense copy of the block on the very inputs our
pipeline fed it, with its own per-sample statistics. End to end the two pipelines cannot agree to 1e-4 in
the deep blocks, and not because either is wrong: a last-bit difference in the statistics flips one
near-tied weight, which perturbs the next blocks' inputs and flips more (the engine run with batch size 8
and then 16 drifts apart the same way, to 0.1% of the entries of block 29). The benchmark reports the
end-to-end agreement. SparseGPT is compared end to end by WikiText-2 perplexity.
"""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
from transformers import AutoModelForCausalLM
from typing_extensions import override

from benchmarks import reference
from benchmarks.prune_benchmark import c4_windows, perplexity, wikitext_windows
from calibprune.callbacks import BlockCallback, Magnitude, SparseGPT, Wanda
from calibprune.datamodules import CalibrationDataModule
from calibprune.modeling.blocks import decoder_blocks, linear_layers
from calibprune.modeling.loading import load_model
from calibprune.prune.module import PruningModule
from calibprune.prune.saving import REPORT_NAME
from calibprune.prune.trainer import PruningTrainer
from tests.conftest import shared_source

pytestmark = [pytest.mark.slow, pytest.mark.data]

NSAMPLES, SEQLEN, PPL_WINDOWS = 16, 256, 32
MIN_AGREEMENT = 0.9999


# ---- data: the benchmark's own windows and perplexity ---------------------------------------------------------
@pytest.fixture(scope="module")
def calibration(tmp_path_factory, tokenizer):
    input_ids = c4_windows(tokenizer, shared_source("c4") / "train.jsonl", NSAMPLES, SEQLEN, seed=0)
    path = tmp_path_factory.mktemp("calibration") / "c4-16x256.pt"
    torch.save({"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}, path)
    return path, input_ids


@pytest.fixture(scope="module")
def wikitext(tokenizer):
    return wikitext_windows(tokenizer, shared_source("wikitext") / "test.jsonl", PPL_WINDOWS, SEQLEN)


# ---- running both implementations -------------------------------------------------------------------------------
def zeros_of(model) -> dict[str, torch.Tensor]:
    _, blocks = decoder_blocks(model)
    return {
        f"{i}.{name}": layer.weight.detach() == 0
        for i, block in enumerate(blocks)
        for name, layer in linear_layers(block).items()
    }


def agreement(ours: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> dict[str, float]:
    return {name: (ours[name] == expected[name]).float().mean().item() for name in expected}


def _per_sample(value, j: int, batch: int):
    if isinstance(value, torch.Tensor) and value.dim() and value.shape[0] == batch > 1:
        return value[j : j + 1]
    if isinstance(value, (tuple, list)):
        return type(value)(_per_sample(v, j, batch) for v in value)
    return value


class TeacherForcedReference(BlockCallback):
    """Per block, the reference prunes a dense copy of the block on the inputs our pipeline fed it.

    Must come before the pruning method among the callbacks, so that the copy is taken before the method
    attaches its statistics hooks, and compared after the method has pruned.
    """

    def __init__(self, new_statistics, pruner) -> None:
        self.new_statistics, self.pruner = new_statistics, pruner
        self.agreement: dict[str, float] = {}

    @override
    def on_block_start(self, trainer, pl_module, index, layers):
        block = decoder_blocks(pl_module.model)[1][index]
        self.dense, self.inputs = copy.deepcopy(block), []
        self.handle = block.register_forward_pre_hook(
            lambda _m, args, kwargs: self.inputs.append((args[0], kwargs)), with_kwargs=True
        )

    @override
    def on_block_end(self, trainer, pl_module, index, layers):
        self.handle.remove()

    @override
    def on_block_pruned(self, trainer, pl_module, index, layers):
        samples = [
            (h[j : j + 1], {k: _per_sample(v, j, len(h)) for k, v in kw.items()})
            for h, kw in self.inputs
            for j in range(len(h))
        ]
        with torch.no_grad():
            reference.calibrate_and_prune_block(
                self.dense, [h for h, _ in samples], [kw for _, kw in samples], self.new_statistics, self.pruner
            )
        expected = reference.find_linears(self.dense)
        for name, layer in layers.items():
            same = (layer.weight == 0) == (expected[name].weight == 0)
            self.agreement[f"{index}.{name}"] = same.float().mean().item()
        self.dense, self.inputs = None, []


def prune_ours(method, calibration_path=None, callbacks=(), save_model=None):
    module = PruningModule(model="embedded")
    data = None
    if calibration_path is not None:
        data = CalibrationDataModule(
            calibration=[str(calibration_path)], nsamples=NSAMPLES, seqlen=SEQLEN, batch_size=8
        )
    trainer = PruningTrainer(accelerator="cpu", devices=1, callbacks=[*callbacks, method], enable_progress_bar=False)
    report = trainer.prune(module, data, save_model=save_model)
    return module.model, report


@pytest.fixture(scope="module")
def dense():
    model = load_model("embedded")
    return {"zeros": zeros_of(model), "vocab": model.config.vocab_size}


@pytest.fixture(scope="module")
def wanda_unstructured(calibration, tmp_path_factory):
    path, input_ids = calibration
    shadow = TeacherForcedReference(reference.WandaStatistics, reference.wanda_pruner(0.5))
    save_dir = tmp_path_factory.mktemp("saved") / "wanda-50"
    model, report = prune_ours(Wanda(0.5), path, [shadow], save_model=str(save_dir))
    with torch.no_grad():
        logits = model(input_ids[:2], use_cache=False).logits
    return {
        "agreement": shadow.agreement,
        "zeros": zeros_of(model),
        "logits": logits,
        "save_dir": save_dir,
        "report": report,
    }


@pytest.fixture(scope="module")
def wanda_2_4(calibration):
    shadow = TeacherForcedReference(reference.WandaStatistics, reference.wanda_pruner(0.5, 2, 4))
    model, _ = prune_ours(Wanda(sparsity_type="2:4"), calibration[0], [shadow])
    return {"agreement": shadow.agreement, "zeros": zeros_of(model)}


@pytest.fixture(scope="module")
def magnitude():
    model, _ = prune_ours(Magnitude(0.5))
    expected = load_model("embedded")
    reference.prune_magnitude(expected, 0.5)
    return {"agreement": agreement(zeros_of(model), zeros_of(expected)), "zeros": zeros_of(model)}


@pytest.fixture(scope="module")
def sparsegpt(calibration, wikitext):
    path, input_ids = calibration
    model, _ = prune_ours(SparseGPT(0.5), path)
    ours = perplexity(model, wikitext)
    zeros = zeros_of(model)
    del model
    expected = load_model("embedded")
    reference.prune_sparsegpt(expected, input_ids, 0.5)
    return {"ours": ours, "reference": perplexity(expected, wikitext), "zeros": zeros}


# ---- (a)-(c) masks ----------------------------------------------------------------------------------------------
def _assert_agree(result: dict[str, float]) -> None:
    assert len(result) == 30 * 7
    worst = min(result, key=result.get)
    assert result[worst] >= MIN_AGREEMENT, f"{worst}: masks agree on {result[worst]:.6%} of entries"


def test_wanda_unstructured_masks_equal_the_reference(wanda_unstructured):
    _assert_agree(wanda_unstructured["agreement"])


def test_wanda_2_4_masks_equal_the_reference(wanda_2_4):
    _assert_agree(wanda_2_4["agreement"])


def test_magnitude_masks_equal_the_reference(magnitude):
    _assert_agree(magnitude["agreement"])


# ---- (d) SparseGPT ----------------------------------------------------------------------------------------------
def test_sparsegpt_perplexity_within_the_fp32_noise_of_the_reference(sparsegpt):
    """No worse than the reference by more than fp32 SparseGPT's own run-to-run spread, and close either way.

    The reference prunes one more weight per 128-column block (its ``<=`` threshold) and solves q/k/v with
    three Hessians, so the two runs are not bit-identical, and fp32 SparseGPT amplifies last-bit differences
    over 30 blocks: the column loop alone gave 103.80 with calibration batch size 8 and 106.00 with 4 (only the
    order of the ``X^T X`` sums differs; 2.1%), the batched solver 107.16; the reference 104.99 on one machine,
    106.68 on an AMD EPYC one. Hence 3% one-sided, 5% two-sided; the solver itself is pinned down on identical
    inputs by ``tests/integration/test_sparsegpt_accuracy.py``.
    """
    assert math.isfinite(sparsegpt["ours"])
    ratio = sparsegpt["ours"] / sparsegpt["reference"]
    assert ratio <= 1.03, sparsegpt
    assert ratio >= 0.95, sparsegpt


# ---- (e) exact sparsity -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("run", ["wanda_unstructured", "magnitude", "sparsegpt"])
def test_every_layer_has_exactly_the_requested_sparsity(request, run):
    for name, zeros in request.getfixturevalue(run)["zeros"].items():
        assert int(zeros.sum()) == zeros.numel() // 2, name


def test_every_2_4_group_has_exactly_two_zeros(wanda_2_4, dense):
    # The 4-bit-dequantised weights hold a few exact zeros already: those groups keep them (and prune them first).
    for name, zeros in wanda_2_4["zeros"].items():
        groups = zeros.reshape(zeros.shape[0], -1, 4).sum(dim=-1)
        already = dense["zeros"][name].reshape(zeros.shape[0], -1, 4).sum(dim=-1)
        assert torch.equal(groups, already.clamp(min=2)), name


# ---- (f) saving -------------------------------------------------------------------------------------------------
def test_saved_model_reloads_with_the_same_logits_and_zeros(wanda_unstructured, calibration, dense):
    save_dir = wanda_unstructured["save_dir"]
    report = json.loads((save_dir / REPORT_NAME).read_text())
    assert report["global"]["sparsity"] == 0.5 == wanda_unstructured["report"]["global"]["sparsity"]
    reloaded = AutoModelForCausalLM.from_pretrained(save_dir, dtype=torch.float32, attn_implementation="sdpa").eval()
    assert reloaded.config.vocab_size == reloaded.get_input_embeddings().weight.shape[0] == dense["vocab"]
    zeros = zeros_of(reloaded)
    assert all(torch.equal(zeros[name], z) for name, z in wanda_unstructured["zeros"].items())
    with torch.no_grad():
        logits = reloaded(calibration[1][:2], use_cache=False).logits
    torch.testing.assert_close(logits, wanda_unstructured["logits"], rtol=1e-5, atol=1e-5)
