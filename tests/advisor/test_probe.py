"""The probe prunes the first blocks exactly as a full run prunes them, measures them, and restores the model."""

from __future__ import annotations

import torch

from calibprune.advisor.probe import BlockProbe, first_blocks
from calibprune.advisor.proxies.reconstruction import relative_error
from calibprune.advisor.recorder import NormRecorder
from calibprune.callbacks import Wanda
from calibprune.datamodules.samples import CalibrationSamples
from calibprune.engine.statistics import SquaredNormAccumulator
from calibprune.modeling.blocks import decoder_blocks
from calibprune.modeling.capture import run_block
from calibprune.prune.module import PruningModule
from calibprune.prune.trainer import PruningTrainer


def _samples(vocab: int, seed: int, n: int = 4, seqlen: int = 16) -> CalibrationSamples:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (n, seqlen), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 10:] = 0
    return CalibrationSamples(ids, mask)


def _module(path) -> PruningModule:
    module = PruningModule(str(path))
    module.configure_model()
    module.model.eval()
    return module


def test_probe_prunes_the_first_block_like_a_full_run_and_restores(tiny_llama_dir):
    probe_module, full_module = _module(tiny_llama_dir), _module(tiny_llama_dir)
    samples = _samples(len(probe_module.tokenizer), 0)
    dense_weights = {k: v.clone() for k, v in probe_module.model.state_dict().items()}

    # The probe: block 0 pruned with the candidate's statistics.
    method = Wanda(0.5)
    trainer = PruningTrainer(callbacks=[method], logger=False, enable_progress_bar=False, devices=1)
    probe = BlockProbe(probe_module, blocks=1, batch_size=2)
    inputs = probe.inputs(samples)
    probe.prune(inputs, trainer, method)
    probed = {k: v.clone() for k, v in decoder_blocks(probe_module.model)[1][0].state_dict().items()}
    _, blocks = decoder_blocks(probe_module.model)
    assert len(blocks) == 2  # the full stack is back after pruning

    # A full run of the engine on the same tokens: its block 0 must be the same.
    full_method = Wanda(0.5)
    full_trainer = PruningTrainer(callbacks=[full_method], logger=False, enable_progress_bar=False, devices=1)
    full_module.trainer = full_trainer
    full_module.activations.batches = BlockProbe(full_module, 1, 2).inputs(samples)
    full_module.prune_blocks(full_method)
    full = decoder_blocks(full_module.model)[1][0].state_dict()
    for name, value in probed.items():
        assert torch.equal(value, full[name]), name

    # Reconstruction error of the probe = running the pruned block directly.
    target = probe.inputs(_samples(len(probe_module.tokenizer), 1))
    pruned = probe.run(target)
    direct = [run_block(blocks[0], batch) for batch in target]
    for p, d in zip(pruned, direct, strict=True):
        assert torch.allclose(p, d)
    probe.restore()
    dense = probe.run(target)
    assert all(relative_error(d, p, b.token_mask).min() > 0 for d, p, b in zip(dense, pruned, target, strict=True))
    for name, value in probe_module.model.state_dict().items():
        assert torch.equal(value, dense_weights[name]), name


def test_first_blocks_truncates_and_restores(tiny_llama_dir):
    module = _module(tiny_llama_dir)
    before = decoder_blocks(module.model)[1]
    with first_blocks(module.model, 1) as short:
        assert decoder_blocks(module.model)[1] is short and len(short) == 1 and short[0] is before[0]
    assert decoder_blocks(module.model)[1] is before


def test_recorder_per_sequence_sums_to_the_engine_accumulator(tiny_llama_dir):
    module = _module(tiny_llama_dir)
    samples = _samples(len(module.tokenizer), 2)
    probe = BlockProbe(module, blocks=2, batch_size=3)
    inputs = probe.inputs(samples)
    per_sequence, whole = NormRecorder(per_sequence=True), NormRecorder()
    probe.run(inputs, per_sequence)
    probe.run(inputs, whole)
    assert len(per_sequence.statistics["0.self_attn.q_proj"]) == len(samples)
    totals, direct = per_sequence.totals(), whole.totals()
    assert set(totals) == set(direct)
    for key in totals:
        assert torch.allclose(totals[key][0], direct[key][0], rtol=1e-5)
        assert totals[key][1] == direct[key][1] == float(samples.attention_mask.sum())
    # The first layer of block 0 sees the embeddings: check against a direct accumulation.
    accumulator = SquaredNormAccumulator(inputs[0].hidden.shape[-1])
    for batch in inputs:
        normed = decoder_blocks(module.model)[1][0].input_layernorm(batch.hidden)
        accumulator.update(normed, batch.token_mask)
    assert torch.allclose(direct["0.self_attn.q_proj"][0], accumulator.sum, rtol=1e-5)
    rows = [0, 0, 3]
    resampled = per_sequence.totals(rows)["0.mlp.down_proj"]
    expected = sum(per_sequence.statistics["0.mlp.down_proj"][i].sum for i in rows)
    assert torch.allclose(resampled[0], expected)
