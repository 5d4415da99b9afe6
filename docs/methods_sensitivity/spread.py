"""Spread of WikiText-2 perplexity per method: over calibration sets and over seeds (prints a Markdown table).

Usage: python docs/methods_sensitivity/spread.py docs/methods_sensitivity > docs/methods_sensitivity/spread.md
"""

from __future__ import annotations

import math
import statistics
import sys
from collections import defaultdict

from calibprune.study.store import read_records


def _share(spread: float, mean: float) -> str:
    """``spread (percent of mean)``, or ``-`` where it is undefined (one set, or one seed)."""
    return "-" if math.isnan(spread) else f"{spread:.2f} ({100 * spread / mean:.1f}%)"


def main(folder: str) -> None:
    """Print, per method, the set means, their range and the mean standard deviation over seeds."""
    ppl: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for record in read_records(folder):
        if record.get("kind") != "cell":
            continue
        value = next(r["value"] for r in record["results"] if r["task"] == "wikitext" and r["metric"] == "ppl")
        labels = record["labels"]
        method = labels["method"]
        if labels.get("nsamples"):
            method = f"{method} ({labels['nsamples']} x {labels['seqlen']})"
        ppl[method][labels.get("calibration") if labels.get("nsamples") else "-"].append(value)
    print(
        "| method | cells | mean ppl | set means (C4 / Pile / GSM8K / self) | spread over sets: max-min (% of mean) "
        "| spread over seeds: mean std (% of mean) |"
    )
    print("|---|---:|---:|---|---:|---:|")
    for method, by_set in ppl.items():
        values = [v for vs in by_set.values() for v in vs]
        mean = statistics.fmean(values)
        means = {name: statistics.fmean(vs) for name, vs in by_set.items()}
        sets = " / ".join(f"{means[n]:.2f}" if n in means else "-" for n in ("C4", "Pile", "GSM8K", "self-generated"))
        over_sets = max(means.values()) - min(means.values()) if len(means) > 1 else float("nan")
        stds = [statistics.stdev(vs) for vs in by_set.values() if len(vs) > 1]
        over_seeds = statistics.fmean(stds) if stds else float("nan")
        if "-" in by_set:  # no calibration: one cell
            sets, over_sets, over_seeds = "(no calibration)", float("nan"), float("nan")
        print(
            f"| {method} | {len(values)} | {mean:.2f} | {sets} "
            f"| {_share(over_sets, mean)} | {_share(over_seeds, mean)} |"
        )


if __name__ == "__main__":
    main(sys.argv[1])
