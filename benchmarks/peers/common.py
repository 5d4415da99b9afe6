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


def device_and_dtype(rest: list[str]) -> tuple[str, str]:
    """A worker's optional trailing ``[DEVICE [DTYPE]]`` arguments (default ``cpu float32``)."""
    return (rest[0] if rest else "cpu", rest[1] if len(rest) > 1 else "float32")


def optional_path(arg: str) -> Path | None:
    """A worker's file argument; ``none`` for no file."""
    return None if arg == "none" else Path(arg)


def pack_mask(mask: torch.Tensor) -> torch.Tensor:
    """A boolean mask as bits (uint8, eight entries a byte, zero-padded), on the CPU: 8x smaller files."""
    flat = mask.reshape(-1).to(torch.uint8)
    flat = torch.cat([flat, flat.new_zeros(-flat.numel() % 8)]).reshape(-1, 8)
    weights = torch.tensor([128, 64, 32, 16, 8, 4, 2, 1], dtype=torch.uint8, device=flat.device)
    return (flat * weights).sum(dim=1, dtype=torch.uint8).cpu()


def mask_agreement(zeros: dict[str, tuple], reference: dict[str, tuple]) -> float:
    """Share of all mask entries (pruned or kept) equal to ``reference``'s; both as ``{name: (bits, numel)}``."""
    popcount = torch.tensor([bin(i).count("1") for i in range(256)], dtype=torch.int64)
    differ = sum(int(popcount[(zeros[k][0] ^ reference[k][0]).long()].sum()) for k in reference)
    total = sum(numel for _, numel in reference.values())
    return 1 - differ / total


def measure(
    model: nn.Module,
    prune: Callable[[], None],
    wikitext: Path | None,
    result: Path,
    device: str = "cpu",
    unwrap: Callable[[nn.Module], nn.Module] | None = None,
    **extra: object,
) -> None:
    """Time ``prune()`` and its peak memory, then save the zero masks and WikiText-2 perplexity of the pruned model.

    On a GPU the clock waits for the device (``torch.cuda.synchronize``) and the peak is
    ``torch.cuda.max_memory_allocated``; the peak RSS is measured everywhere. ``wikitext=None`` skips the
    perplexity (random-weight models). Masks are saved as bits (:func:`pack_mask`), read from
    ``unwrap(model)`` when given (a peer's model wrapped for offloading during the run).
    """
    cuda = device.startswith("cuda")
    loaded = rss_kib()
    reset_peak()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    prune()
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = peak_kib()
    gpu_peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    model = unwrap(model) if unwrap else model
    zeros = {
        name: (pack_mask(layer.weight.detach() == 0), layer.weight.numel())
        for name, layer in decoder_linears(model).items()
    }
    ppl = perplexity(model, torch.load(wikitext).to(next(model.parameters()).device)) if wikitext else None
    torch.save(
        {
            "zeros": zeros,
            "seconds": seconds,
            "peak_rss_mib": peak / 1024,
            "loaded_rss_mib": loaded / 1024,
            "peak_gpu_gib": gpu_peak,
            "wikitext_ppl": ppl,
            "threads": torch.get_num_threads(),
            "device": device,
            **extra,
        },
        result,
    )
