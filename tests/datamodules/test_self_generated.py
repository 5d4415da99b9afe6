"""Self-generated calibration text: full-length, seeded, from the BOS token, the most fluent candidates kept."""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM

from calibprune.datamodules.sources.base import SourceContext
from calibprune.datamodules.sources.self_generated import SelfGeneratedSource, _sequence_nll


def _samples(model, tokenizer, seed, **options):
    context = SourceContext(tokenizer=tokenizer, seqlen=16, model=model)
    return SelfGeneratedSource(batch_size=3, **options).samples(context, 5, torch.Generator().manual_seed(seed))


def test_sequences_are_full_length_seeded_and_start_at_bos(tiny_llama_dir, tokenizer):
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir).eval()
    first = _samples(model, tokenizer, 0)
    assert first.input_ids.shape == (5, 16) and bool(first.attention_mask.all())
    assert (first.input_ids[:, 0] == tokenizer.bos_token_id).all()
    assert torch.equal(first.input_ids, _samples(model, tokenizer, 0).input_ids)
    assert not torch.equal(first.input_ids, _samples(model, tokenizer, 1).input_ids)


def test_the_least_fluent_candidates_are_dropped(tiny_llama_dir, tokenizer, monkeypatch):
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir).eval()
    scored = []

    def recording_nll(model, ids):
        nll = _sequence_nll(model, ids)
        scored.extend(zip(ids.tolist(), nll.tolist(), strict=True))
        return nll

    monkeypatch.setattr("calibprune.datamodules.sources.self_generated._sequence_nll", recording_nll)
    kept = _samples(model, tokenizer, 0, filter_ratio=0.5)
    assert len(scored) == 10  # ceil(5 / (1 - 0.5)) candidates
    threshold = sorted(nll for _, nll in scored)[4]
    kept_rows = kept.input_ids.tolist()
    assert all(nll <= threshold for ids, nll in scored if ids in kept_rows)


def test_data_seqlen_pads_the_rest(tiny_llama_dir, tokenizer):
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir).eval()
    samples = _samples(model, tokenizer, 0, data_seqlen=10)
    assert samples.attention_mask.sum(dim=1).tolist() == [10] * 5
