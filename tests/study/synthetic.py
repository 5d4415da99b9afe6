"""Synthetic study records with per-item values (as TaskResult.per_item), for the statistics and findings tests."""

from __future__ import annotations

import math
import random
import statistics

ITEMS = 300
WINDOWS = 60


def results(quality: float, nll: float, seed: int, salt: str) -> list[dict]:
    """A cell's results: wikitext ppl/nll over windows, boolq and esnli accuracy, gsm8k exact match."""
    rng = random.Random(f"{salt}-{seed}")
    windows = [nll + rng.gauss(0, 0.05) for _ in range(WINDOWS)]
    out = [
        {
            "task": "wikitext",
            "metric": "ppl",
            "value": math.exp(statistics.fmean(windows)),
            "stderr": None,
            "n": WINDOWS,
            "num_fewshot": None,
            "per_item": windows,
        },
        {
            "task": "wikitext",
            "metric": "nll",
            "value": statistics.fmean(windows),
            "stderr": None,
            "n": WINDOWS,
            "num_fewshot": None,
            "per_item": windows,
        },
    ]
    for task, metric, offset in (("boolq", "acc", 0.0), ("esnli", "acc", -0.1), ("gsm8k", "exact_match", -0.3)):
        items_rng = random.Random(f"items-{task}")  # item difficulty shared by every model
        difficulty = [items_rng.random() for _ in range(ITEMS)]
        correct = [float(d < quality + offset + rng.gauss(0, 0.02)) for d in difficulty]
        out.append(
            {
                "task": task,
                "metric": metric,
                "value": statistics.fmean(correct),
                "stderr": None,
                "n": ITEMS,
                "num_fewshot": 1,
                "per_item": correct,
            }
        )
    return out


def cell(
    index: int,
    title: str,
    sources: list[str],
    seed: int,
    quality: float,
    nll: float,
    fmt: str = "icl",
    options: dict | None = None,
    nsamples: int = 16,
    seqlen: int = 256,
    method: str = "Wanda 50%",
) -> dict:
    labels = {"method": method, "calibration": title, "nsamples": nsamples, "seqlen": seqlen, "seed": seed}
    params = {"calibration": {"sources": sources, "format": fmt, "options": options or {}, "weights": None}}
    return {
        "kind": "cell",
        "id": f"{method}-{title}-{nsamples}-{seqlen}-{seed}",
        "index": index,
        "labels": labels,
        "params": params,
        "results": results(quality, nll, seed, f"{title}-{nsamples}-{seqlen}"),
        "study": "synthetic",
        "timings": {"prune_s": 1.0, "evaluate_s": 1.0},
    }


def study(sets: list[tuple], seeds=(0, 1, 2)) -> list[dict]:
    """Records of ``(title, sources, quality, nll, format, options, nsamples, seqlen)`` sets over ``seeds``."""
    records = [{"kind": "dense", "id": "dense", "study": "synthetic", "results": results(0.6, 3.0, 0, "dense")}]
    for entry in sets:
        title, sources, quality, nll, *rest = entry
        fmt, options, nsamples, seqlen = list(rest) + ["icl", None, 16, 256][len(rest) :]
        for seed in seeds:
            records.append(cell(len(records), title, sources, seed, quality, nll, fmt, options, nsamples, seqlen))
    return records
