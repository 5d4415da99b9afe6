"""Self-generated calibration text (Ji et al., ICLR 2025): sample from the model, keep the most fluent."""

from __future__ import annotations

import math

import torch
from lightning.pytorch.utilities import rank_zero_only
from torch.nn import functional as F
from tqdm.auto import tqdm
from transformers import StoppingCriteria, StoppingCriteriaList

from calibprune.console import bar_interval
from calibprune.datamodules.samples import CalibrationSamples
from calibprune.datamodules.sources.base import CalibrationSource, SourceContext
from calibprune.datamodules.sources.packing import pad_rows
from calibprune.tasks.encoding import pad_id


class SelfGeneratedSource(CalibrationSource):
    """Text sampled from the model itself, so calibration needs no dataset and works offline with any model.

    Each sequence starts from the BOS token (EOS when the tokenizer has none) and is sampled to the full
    length. Like Ji et al. (2025), ``filter_ratio`` extra candidates are generated and the ones with the
    highest perplexity under the model are dropped.

    Args:
        temperature: sampling temperature.
        top_p: nucleus sampling threshold.
        filter_ratio: fraction of generated candidates discarded as least fluent, in [0, 1).
        batch_size: sequences generated at once.
        data_seqlen: tokens generated per sequence (BOS included), the rest padding; ``None``: the whole
            sequence.
    """

    def __init__(
        self,
        temperature: float = 1.0,
        top_p: float = 0.95,
        filter_ratio: float = 0.2,
        batch_size: int = 16,
        data_seqlen: int | None = None,
    ) -> None:
        if not 0.0 <= filter_ratio < 1.0:
            raise ValueError(f"self source: filter_ratio must be in [0, 1), got {filter_ratio}")
        self.temperature, self.top_p, self.filter_ratio, self.batch_size = temperature, top_p, filter_ratio, batch_size
        self.data_seqlen = data_seqlen

    @torch.no_grad()
    def samples(self, context: SourceContext, nsamples: int, generator: torch.Generator) -> CalibrationSamples:
        """Generate ``nsamples`` full-length sequences (seeded by ``generator``)."""
        model, tokenizer = context.model, context.tokenizer
        if model is None:
            raise ValueError("--calibration self needs the model; connect it to the datamodule first")
        length = self.data_seqlen or context.seqlen
        if length > context.seqlen:
            raise ValueError(f"--data_seqlen {length} exceeds --seqlen {context.seqlen}")
        start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        candidates = math.ceil(nsamples / (1.0 - self.filter_ratio))
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        device = next(model.parameters()).device
        chunks, losses = [], []
        batches = math.ceil(candidates / self.batch_size)
        bar = tqdm(
            total=batches * (length - 1),
            desc=f"generating calibration text ({candidates} sequences)",
            unit="tok",
            disable=rank_zero_only.rank != 0,
            mininterval=bar_interval(),
            maxinterval=bar_interval(),
        )
        with bar, torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            for first in range(0, candidates, self.batch_size):
                size = min(self.batch_size, candidates - first)
                prompt = torch.full((size, 1), start, dtype=torch.long, device=device)
                new = length - 1
                out = model.generate(
                    prompt,
                    attention_mask=torch.ones_like(prompt),
                    do_sample=True,
                    temperature=self.temperature,
                    top_p=self.top_p,
                    top_k=0,
                    max_new_tokens=new,
                    min_new_tokens=new,
                    pad_token_id=tokenizer.pad_token_id,
                    stopping_criteria=StoppingCriteriaList([_CountSteps(bar)]),
                )
                chunks.append(out.cpu())
                losses.append(_sequence_nll(model, out).cpu())
        ids, nll = torch.cat(chunks), torch.cat(losses)
        keep = torch.sort(torch.argsort(nll, stable=True)[:nsamples])[0]
        return pad_rows(ids[keep].tolist(), context.seqlen, pad_id(tokenizer))


class _CountSteps(StoppingCriteria):
    """Advance a progress bar by one generation step; never stops generation."""

    def __init__(self, bar: tqdm) -> None:
        self.bar = bar

    def __call__(self, input_ids: torch.LongTensor, scores: object = None, **kwargs: object) -> torch.BoolTensor:
        self.bar.update(1)
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def _sequence_nll(model: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """Mean next-token negative log-likelihood of each sequence (log-perplexity)."""
    logits = model(input_ids=ids, use_cache=False).logits[:, :-1].float()
    nll = F.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
    return nll.mean(dim=1)
