"""Validate the advisor against a full study: rank correlations, hit rates and cost of every proxy.

``python -m calibprune.advisor.validate --study DIR --advice A.json [B.json ...] --output_dir OUT`` reads the
study's ``results*.jsonl`` (the ground truth: every candidate pruned and evaluated, several seeds) and one
``advice.json`` per advisor run (e.g. one per seed), matches candidates by their sources and format, and writes
``validation.{md,json}`` and a scatter plot. Intervals are percentile bootstraps that redraw the study's seeds
(the same draw for every candidate) and the advisor run.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path
from typing import Any

import torch

from calibprune.advisor.ranking import kendall, percentile_interval, spearman, top_k_hit
from calibprune.advisor.scores import ALL_PROXIES, ALONE_PROXIES, PROXY_PARTS
from calibprune.files import owner
from calibprune.files.atomic import check_file, write_json, write_text, write_with
from calibprune.study.store import read_records

PARAMETER = "output_dir"
ACCEPTED = "a folder without validation files, or one holding a validation calibprune wrote"
NAMES = ("validation.json", "validation.md", "validation.png")


def is_validation_folder_file(path: Path) -> bool:
    """Whether ``path`` lies beside a ``validation.json`` calibprune wrote (the mark of a validation folder)."""
    report = json.loads((path.parent / "validation.json").read_text(encoding="utf-8"))
    return isinstance(report, dict) and {"targets", "truth", "results"} <= set(report)


COMBINED_TARGET = "geomean"


def candidate_spec(calibration: dict[str, Any]) -> str:
    """The ``--candidates`` spec of a study's calibration entry."""
    spec = "+".join(calibration["sources"])
    return spec if calibration.get("format", "icl") == "icl" else f"{spec}@{calibration['format']}"


Truth = dict[str, dict[str, dict[int, list[float]]]]  # spec -> target -> seed -> per-window mean token NLL


def ground_truth(study_dir: str | Path, targets: list[str]) -> tuple[Truth, float, dict[str, str]]:
    """Per candidate spec, per target, per seed: the pruned model's per-window NLLs; the study's seconds; labels.

    Only seeds that every candidate has are kept (a partly finished study compares like with like).
    """
    truth: Truth = {}
    seconds, labels = 0.0, {}
    for record in read_records(study_dir):
        seconds += sum(v for v in record.get("timings", {}).values() if isinstance(v, (int, float)))  # not tasks_s
        if record["kind"] != "cell":
            continue
        spec = candidate_spec(record["params"]["calibration"])
        labels[spec] = record["labels"]["calibration"]
        windows = {r["task"]: r["per_item"] for r in record["results"] if r["metric"] == "nll"}
        for target in targets:
            truth.setdefault(spec, {}).setdefault(target, {})[record["params"]["seed"]] = windows[target]
    common = set.intersection(*(set(per[targets[0]]) for per in truth.values())) if truth else set()
    truth = {spec: {t: {s: v[s] for s in sorted(common)} for t, v in per.items()} for spec, per in truth.items()}
    return truth, seconds, labels


def perplexity(
    truth: Truth, spec: str, target: str, seeds: list[int], windows: dict[str, list[int]] | None = None
) -> float:
    """Mean over ``seeds`` of the perplexity over (resampled) windows; ``geomean``: of the targets' perplexities."""
    if target == COMBINED_TARGET:
        names = [t for t in truth[spec] if t != COMBINED_TARGET]
        return math.exp(statistics.fmean(math.log(perplexity(truth, spec, t, seeds, windows)) for t in names))
    values = []
    for seed in seeds:
        nll = truth[spec][target][seed]
        chosen = windows[target] if windows else range(len(nll))
        values.append(math.exp(statistics.fmean(nll[i] for i in chosen)))
    return statistics.fmean(values)


def predictions(advice: dict[str, Any], proxy: str, target: str) -> dict[str, float]:
    """One advice run's scores of ``proxy`` for ``target`` (``geomean``: its overall score), per candidate."""
    out = {}
    for row in advice["rows"]:
        if target == COMBINED_TARGET or proxy in ALONE_PROXIES:
            out[row["candidate"]] = row["proxies"][proxy]
        else:
            out[row["candidate"]] = row["per_target"][target][proxy]
    return out


def proxy_seconds(advice: dict[str, Any], proxy: str) -> float:
    """Seconds one advice run needed for ``proxy`` alone: shared parts plus its own."""
    s = advice["seconds"]
    return s["load"] + s["targets"] + s["sample"] + sum(s[part] for part in PROXY_PARTS[proxy])


def evaluate_proxy(
    truth: Truth, advices: list[dict[str, Any]], proxy: str, target: str, draws: int, generator: torch.Generator
) -> dict[str, Any]:
    """Spearman, Kendall (point: mean over advisor runs vs the seed-mean truth; 95% bootstrap), top-1/top-3 hits.

    A bootstrap draw resamples the study's seeds and its evaluation windows (the same draw for every candidate)
    and one advisor run.
    """
    specs = sorted(truth)
    first = truth[specs[0]]
    seeds = sorted(first[next(iter(first))])
    mean_truth = [perplexity(truth, s, target, seeds) for s in specs]
    runs = [[predictions(a, proxy, target)[s] for s in specs] for a in advices]
    rho = [spearman(r, mean_truth) for r in runs]
    tau = [kendall(r, mean_truth) for r in runs]
    window_counts = {t: len(first[t][seeds[0]]) for t in first}
    boot_rho, boot_tau = [], []
    for _ in range(draws):
        chosen = [seeds[i] for i in torch.randint(0, len(seeds), (len(seeds),), generator=generator).tolist()]
        windows = {t: torch.randint(0, n, (n,), generator=generator).tolist() for t, n in window_counts.items()}
        drawn = [perplexity(truth, s, target, chosen, windows) for s in specs]
        run = runs[int(torch.randint(0, len(runs), (1,), generator=generator))]
        boot_rho.append(spearman(run, drawn))
        boot_tau.append(kendall(run, drawn))
    return {
        "spearman": statistics.fmean(rho),
        "spearman_runs": rho,
        "spearman_ci": percentile_interval(boot_rho),
        "kendall": statistics.fmean(tau),
        "kendall_ci": percentile_interval(boot_tau),
        "top1": statistics.fmean(top_k_hit(r, mean_truth, 1) for r in runs),
        "top3": statistics.fmean(top_k_hit(r, mean_truth, 3) for r in runs),
        "seconds": statistics.fmean(proxy_seconds(a, proxy) for a in advices),
    }


def validate(
    study_dir: str, advice_files: list[str], targets: list[str], draws: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """Every proxy against the study, per target and for the targets combined."""
    truth, study_seconds, labels = ground_truth(study_dir, targets)
    advices = [json.loads(Path(f).read_text()) for f in advice_files]
    for advice in advices:
        missing = set(truth) - {row["candidate"] for row in advice["rows"]}
        if missing:
            raise ValueError(f"--advice: the advice lacks study candidates {sorted(missing)}")
    generator = torch.Generator().manual_seed(seed)
    proxies = [p for p in ALL_PROXIES if all(p in a["rows"][0]["proxies"] for a in advices)]
    results = {
        target: {p: evaluate_proxy(truth, advices, p, target, draws, generator) for p in proxies}
        for target in [*targets, COMBINED_TARGET]
    }
    for per_proxy in results.values():
        for entry in per_proxy.values():
            entry["cost_fraction"] = entry["seconds"] / study_seconds
    advisor_total = statistics.fmean(a["seconds"]["total"] for a in advices)
    return {
        "targets": targets,
        "study_seconds": study_seconds,
        "advisor_seconds": advisor_total,
        "advisor_fraction": advisor_total / study_seconds,
        "candidates": len(truth),
        "labels": labels,
        "seeds": len(next(iter(next(iter(truth.values())).values()))),
        "advisor_runs": len(advices),
        "truth": {
            s: {t: perplexity(truth, s, t, sorted(truth[s][targets[0]])) for t in [*targets, COMBINED_TARGET]}
            for s in truth
        },
        "results": results,
    }


def markdown(report: dict[str, Any]) -> str:
    """The validation tables: one per target, one row per proxy."""
    lines = [
        f"{report['candidates']} candidates, ground truth over {report['seeds']} seed(s), "
        f"{report['advisor_runs']} advisor runs. Full study: {report['study_seconds']:.0f} s of pruning and "
        f"evaluation; one advisor run (all proxies): {report['advisor_seconds']:.0f} s "
        f"({100 * report['advisor_fraction']:.1f}%).",
        "",
    ]
    for target, per_proxy in report["results"].items():
        title = "geometric mean of the targets' perplexities" if target == COMBINED_TARGET else f"{target} perplexity"
        lines += [
            f"### {title}",
            "",
            "| proxy | Spearman [95% CI] | Kendall [95% CI] | top-1 | top-3 | cost |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for proxy, e in per_proxy.items():
            lines.append(
                f"| {proxy} | {e['spearman']:.2f} [{e['spearman_ci'][0]:.2f}, {e['spearman_ci'][1]:.2f}] | "
                f"{e['kendall']:.2f} [{e['kendall_ci'][0]:.2f}, {e['kendall_ci'][1]:.2f}] | {e['top1']:.2f} | "
                f"{e['top3']:.2f} | {100 * e['cost_fraction']:.1f}% |"
            )
        lines.append("")
    return "\n".join(lines)


def plot(report: dict[str, Any], advice: dict[str, Any], proxy: str, path: Path) -> None:
    """Scatter of one advice run's ``proxy`` score against the true perplexity, one panel per target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    targets = [*report["targets"], COMBINED_TARGET]
    fig, axes = plt.subplots(1, len(targets), figsize=(4.2 * len(targets), 4))
    for ax, target in zip(axes, targets, strict=True):
        pred = predictions(advice, proxy, target)
        for spec, truth in report["truth"].items():
            ax.scatter(pred[spec], truth[target], color="tab:blue")
            ax.annotate(report["labels"].get(spec, spec), (pred[spec], truth[target]), fontsize=7)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"{proxy} (advisor)")
        ax.set_ylabel(f"{target} ppl (study, mean over seeds)")
        rho = report["results"][target][proxy]["spearman"]
        ax.set_title(f"{target}: Spearman {rho:.2f}")
    fig.tight_layout()
    write_with(
        path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"), PARAMETER, signature=is_validation_folder_file
    )
    plt.close(fig)


def main(args: list[str] | None = None) -> None:
    """Validate advice runs against a study and write the report."""
    parser = argparse.ArgumentParser(prog="python -m calibprune.advisor.validate", description=__doc__)
    parser.add_argument("--study", required=True, help="the study's output folder (results*.jsonl)")
    parser.add_argument("--advice", nargs="+", required=True, help="advice.json files, one per advisor run")
    parser.add_argument("--targets", nargs="+", default=["wikitext", "c4"], help="perplexity targets")
    parser.add_argument("--proxy", default="coverage", help="the proxy plotted")
    parser.add_argument("--output_dir", required=True, help="folder for validation.{md,json,png}")
    parser.add_argument("--draws", type=int, default=2000, help="bootstrap draws")
    options = parser.parse_args(args)
    folder = Path(options.output_dir)
    for name in NAMES:  # before the bootstrap, not after it
        check_file(folder / name, PARAMETER, ACCEPTED, signature=is_validation_folder_file)
    report = validate(options.study, options.advice, options.targets, options.draws)
    owner.make_folder(folder, PARAMETER)
    mark = {"accepted": ACCEPTED, "signature": is_validation_folder_file}
    write_text(folder / "validation.md", markdown(report) + "\n", PARAMETER, **mark)
    plot(report, json.loads(Path(options.advice[0]).read_text()), options.proxy, folder / "validation.png")
    write_json(folder / "validation.json", report, PARAMETER, indent=1, **mark)  # last: it marks the folder
    print(markdown(report))


if __name__ == "__main__":
    main()
