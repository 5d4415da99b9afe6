"""Helpers shared by every peer worker; plain torch only, so that they also run in the peers' virtual environment."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn


def rss_kib(field: str = "VmRSS") -> int:
    """A field of ``/proc/self/status`` in KiB (``VmRSS`` now, ``VmHWM`` the peak)."""
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def reset_peak() -> None:
    """Restart the peak-RSS count (Linux ``clear_refs``): what came before (loading) is not measured."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_kib() -> int:
    """Highest resident memory since the last :func:`reset_peak`, in KiB.

    ``VmHWM``, which ``clear_refs`` resets; ``getrusage``'s ``ru_maxrss`` is not reset and kept the loading peak.
    """
    return rss_kib("VmHWM")


@torch.no_grad()
def perplexity(model: nn.Module, windows: torch.Tensor) -> float:
    """Perplexity over non-overlapping windows ``[n, seqlen]`` (every token after the first of each window)."""
    nll = 0.0
    for batch in windows.split(8):
        logits = model(batch, use_cache=False).logits[:, :-1].float()
        nll += torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1), reduction="sum"
        ).item()
    return math.exp(nll / (windows.shape[0] * (windows.shape[1] - 1)))


def decoder_linears(model: nn.Module) -> dict[str, nn.Linear]:
    """Every Linear layer inside ``model.model.layers``, named ``<block>.<name>`` (e.g. ``3.self_attn.q_proj``)."""
    return {
        f"{i}.{name}": module
        for i, block in enumerate(model.model.layers)
        for name, module in block.named_modules()
        if isinstance(module, nn.Linear)
    }


def measure(model: nn.Module, prune: Callable[[], None], wikitext: Path, result: Path, **extra: object) -> None:
    """Time ``prune()`` and its peak RSS, then save the zero masks and WikiText-2 perplexity of the pruned model."""
    loaded = rss_kib()
    reset_peak()
    start = time.perf_counter()
    prune()
    seconds = time.perf_counter() - start
    peak = peak_kib()
    zeros = {name: layer.weight.detach() == 0 for name, layer in decoder_linears(model).items()}
    ppl = perplexity(model, torch.load(wikitext))
    torch.save(
        {
            "zeros": zeros,
            "seconds": seconds,
            "peak_rss_mib": peak / 1024,
            "loaded_rss_mib": loaded / 1024,
            "wikitext_ppl": ppl,
            "threads": torch.get_num_threads(),
            **extra,
        },
        result,
    )
