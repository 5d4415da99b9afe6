"""Time and peak memory of calibprune against the plain-PyTorch reference, on the same real calibration tokens.

Each (implementation, method) runs in a fresh subprocess, so that peak resident memory is its own. The model
is loaded first and not timed; the peak is reset after loading (Linux ``/proc/self/clear_refs``), so "peak RSS"
is the highest resident memory while pruning, the loaded model included; "above libs" subtracts the resident
memory of the process before the model was loaded (Python, torch, transformers, Lightning), and is compared
with the fp32 model size. Wanda masks of both implementations are compared layer by layer, WikiText-2
perplexity is measured on every pruned model, and the evaluation-throughput benchmark runs last.

Run from the repository root::

    python -m benchmarks.prune_benchmark --output results.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

RUNS = [("ours", "wanda"), ("reference", "wanda"), ("ours", "sparsegpt"), ("reference", "sparsegpt")]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="embedded", help="model to prune (default: the embedded SmolLM2-135M)")
    parser.add_argument("--data_dir", default="../shared/data", help="folder with c4/train.jsonl, wikitext/test.jsonl")
    parser.add_argument("--nsamples", type=int, default=16, help="calibration sequences")
    parser.add_argument("--seqlen", type=int, default=256, help="tokens per calibration sequence and eval window")
    parser.add_argument("--batch_size", type=int, default=8, help="calibration batch size of calibprune")
    parser.add_argument("--ppl_windows", type=int, default=32, help="WikiText-2 windows of --seqlen tokens")
    parser.add_argument("--seed", type=int, default=0, help="seed of the choice of C4 windows")
    parser.add_argument("--methods", nargs="+", default=["wanda", "sparsegpt"], choices=["wanda", "sparsegpt"])
    parser.add_argument("--output", default="results.json", help="where to write the results as JSON")
    parser.add_argument(
        "--eval_items", type=int, default=16, help="test items per task of the evaluation-throughput run (0: skip it)"
    )
    parser.add_argument("--worker", nargs=4, metavar=("IMPL", "METHOD", "WORKDIR", "RESULT"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---- data -------------------------------------------------------------------------------------------------------
def c4_windows(tokenizer, path: Path, nsamples: int, seqlen: int, seed: int) -> torch.Tensor:
    """Random non-overlapping windows of the concatenated, tokenised C4 documents."""
    ids: list[int] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            ids += tokenizer(json.loads(line)["text"]).input_ids + [tokenizer.eos_token_id]
            if len(ids) >= 8 * nsamples * seqlen:
                break
    chunks = torch.tensor(ids[: len(ids) // seqlen * seqlen]).reshape(-1, seqlen)
    if len(chunks) < nsamples:
        raise SystemExit(f"--nsamples {nsamples}: {path} gives only {len(chunks)} windows of {seqlen} tokens")
    return chunks[torch.randperm(len(chunks), generator=torch.Generator().manual_seed(seed))[:nsamples]]


def wikitext_windows(tokenizer, path: Path, windows: int, seqlen: int) -> torch.Tensor:
    """The first non-overlapping windows of WikiText-2 test rows joined with blank lines."""
    with open(path, encoding="utf-8") as f:
        ids = tokenizer("\n\n".join(json.loads(line)["text"] for line in f), return_tensors="pt").input_ids[0]
    return ids[: windows * seqlen].reshape(windows, seqlen)


def prepare(args: argparse.Namespace, workdir: Path) -> None:
    from calibprune.modeling.loading import load_tokenizer

    tokenizer = load_tokenizer(args.model)
    data = Path(args.data_dir)
    ids = c4_windows(tokenizer, data / "c4" / "train.jsonl", args.nsamples, args.seqlen, args.seed)
    torch.save({"input_ids": ids, "attention_mask": torch.ones_like(ids)}, workdir / "tokens.pt")
    torch.save(
        wikitext_windows(tokenizer, data / "wikitext" / "test.jsonl", args.ppl_windows, args.seqlen),
        workdir / "wikitext.pt",
    )


# ---- one measurement, in its own process ------------------------------------------------------------------------
def _rss_kib(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


@torch.no_grad()
def perplexity(model, windows: torch.Tensor) -> float:
    nll = 0.0
    for batch in windows.split(8):
        logits = model(batch, use_cache=False).logits[:, :-1].float()
        nll += torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1), reduction="sum"
        ).item()
    return math.exp(nll / (windows.shape[0] * (windows.shape[1] - 1)))


def _prune_ours(args: argparse.Namespace, method: str, tokens: Path):
    from calibprune.callbacks import SparseGPT, Wanda
    from calibprune.datamodules import CalibrationDataModule
    from calibprune.prune.module import PruningModule
    from calibprune.prune.trainer import PruningTrainer

    module = PruningModule(model=args.model)
    module.configure_model()

    def run() -> None:
        data = CalibrationDataModule(
            calibration=[str(tokens)], nsamples=args.nsamples, seqlen=args.seqlen, batch_size=args.batch_size
        )
        callback = Wanda(0.5) if method == "wanda" else SparseGPT(0.5)
        trainer = PruningTrainer(accelerator="cpu", devices=1, callbacks=[callback], enable_progress_bar=False)
        trainer.prune(module, data)

    return module.model, run


def _prune_reference(args: argparse.Namespace, method: str, tokens: Path):
    from benchmarks import reference
    from calibprune.modeling.loading import load_model

    model = load_model(args.model)
    input_ids = torch.load(tokens)["input_ids"]
    prune = reference.prune_wanda if method == "wanda" else reference.prune_sparsegpt
    return model, lambda: prune(model, input_ids, 0.5)


def worker(args: argparse.Namespace) -> None:
    from calibprune.modeling.blocks import decoder_blocks, linear_layers

    impl, method, workdir, result = args.worker
    workdir = Path(workdir)
    import transformers  # noqa: F401  (both implementations' libraries, loaded before the baseline is read)

    import benchmarks.reference  # noqa: F401
    import calibprune.prune.trainer  # noqa: F401

    baseline_kib = _rss_kib("VmRSS")  # the process with its libraries, before the model
    setup = _prune_ours if impl == "ours" else _prune_reference
    model, run = setup(args, method, workdir / "tokens.pt")
    loaded_kib, load_peak_kib = _rss_kib("VmRSS"), _rss_kib("VmHWM")
    Path("/proc/self/clear_refs").write_text("5")  # restart the peak count (Linux): loading is not measured
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    _, blocks = decoder_blocks(model)
    zeros = {
        f"{i}.{name}": layer.weight.detach() == 0
        for i, block in enumerate(blocks)
        for name, layer in linear_layers(block).items()
    }
    ppl = perplexity(model, torch.load(workdir / "wikitext.pt"))
    model_mib = sum(p.numel() for p in model.parameters()) * 4 / 2**20
    measured = {
        "seconds": seconds,
        "peak_rss_mib": peak_kib / 1024,
        "loaded_rss_mib": loaded_kib / 1024,
        "baseline_rss_mib": baseline_kib / 1024,
        "peak_above_baseline_mib": (peak_kib - baseline_kib) / 1024,
        "fp32_model_mib": model_mib,
        "load_peak_rss_mib": load_peak_kib / 1024,
        "wikitext_ppl": ppl,
        "threads": torch.get_num_threads(),
    }
    torch.save({"zeros": zeros, **measured}, result)


# ---- the parent: run every measurement and compare ----------------------------------------------------------------
def mask_agreement(ours: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> dict[str, object]:
    per_layer = {name: (ours[name] == expected[name]).float().mean().item() for name in expected}
    differing = [name for name, value in per_layer.items() if value < 1.0]
    return {
        "identical": not differing,
        "layers_identical": len(per_layer) - len(differing),
        "layers": len(per_layer),
        "min_layer_agreement": min(per_layer.values()),
        "mean_agreement": sum(per_layer.values()) / len(per_layer),
        "first_block_with_a_difference": min((int(n.split(".")[0]) for n in differing), default=None),
        "per_layer": per_layer,
    }


def measure(args: argparse.Namespace, workdir: Path, impl: str, method: str) -> dict:
    result = workdir / f"{impl}-{method}.pt"
    command = [sys.executable, "-m", "benchmarks.prune_benchmark", "--worker", impl, method, str(workdir), str(result)]
    for flag in ("model", "nsamples", "seqlen", "batch_size"):
        command += [f"--{flag}", str(getattr(args, flag))]
    print(f"running {impl} {method} ...", flush=True)
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    subprocess.run(command, check=True, cwd=root, env=env, stdout=subprocess.DEVNULL)
    return torch.load(result)


def dense_perplexity(model_name: str, windows: torch.Tensor) -> float:
    from calibprune.modeling.loading import load_model

    return perplexity(load_model(model_name), windows)


def table(rows: list[dict]) -> str:
    """The runs as a text table; ``x ref`` is the time relative to the reference's on the same method."""
    reference = {r["method"]: r["seconds"] for r in rows if r["impl"] == "reference"}
    lines = [
        f"{'impl':<10} {'method':<10} {'time s':>8} {'x ref':>6} {'peak RSS MiB':>13} {'above libs MiB':>15} "
        f"{'/ fp32 model':>13} {'wikitext ppl':>13}"
    ]
    for r in rows:
        ratio = r["seconds"] / reference[r["method"]] if r["method"] in reference else float("nan")
        above = r["peak_above_baseline_mib"]
        lines.append(
            f"{r['impl']:<10} {r['method']:<10} {r['seconds']:>8.1f} {ratio:>6.2f} {r['peak_rss_mib']:>13.0f} "
            f"{above:>15.0f} {above / r['fp32_model_mib']:>13.2f} {r['wikitext_ppl']:>13.3f}"
        )
    return "\n".join(lines)


def evaluation_throughput(args: argparse.Namespace, workdir: Path) -> dict:
    """Run ``benchmarks/eval_throughput.py`` (ours batched vs the seed's batch-1 generation) on the same model."""
    out = workdir / "eval_throughput.json"
    root = Path(__file__).resolve().parents[1]
    command = [
        sys.executable,
        str(root / "benchmarks" / "eval_throughput.py"),
        "--model",
        args.model,
        "--data_dir",
        args.data_dir,
        "--choice_items",
        str(args.eval_items),
        "--generation_items",
        str(max(1, args.eval_items // 2)),
        "--output",
        str(out),
    ]
    print("running evaluation throughput ...", flush=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    subprocess.run(command, check=True, cwd=root, env=env, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return
    with tempfile.TemporaryDirectory(prefix="calibprune-bench-") as tmp:
        workdir = Path(tmp)
        prepare(args, workdir)
        runs = {(impl, method): measure(args, workdir, impl, method) for impl, method in RUNS if method in args.methods}
        dense_ppl = dense_perplexity(args.model, torch.load(workdir / "wikitext.pt"))
        evaluation = evaluation_throughput(args, workdir) if args.eval_items > 0 else None
    rows = [
        {"impl": impl, "method": method, **{k: v for k, v in r.items() if k != "zeros"}}
        for (impl, method), r in runs.items()
    ]
    results = {
        "config": {k: v for k, v in vars(args).items() if k != "worker"},
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "dense_wikitext_ppl": dense_ppl,
        "runs": rows,
    }
    if ("ours", "wanda") in runs:
        results["wanda_masks"] = mask_agreement(runs["ours", "wanda"]["zeros"], runs["reference", "wanda"]["zeros"])
    print(table(rows))
    print(f"dense model: wikitext ppl {dense_ppl:.3f}")
    if "wanda_masks" in results:
        m = results["wanda_masks"]
        print(
            f"Wanda masks: {m['layers_identical']}/{m['layers']} layers identical, min layer agreement "
            f"{m['min_layer_agreement']:.6f}, mean {m['mean_agreement']:.6f}, first difference in block "
            f"{m['first_block_with_a_difference']}"
        )
    if evaluation is not None:
        results["evaluation"] = evaluation
        for task, t in evaluation["tasks"].items():
            print(
                f"evaluation {task}: {t['items']} items, ours {t['ours_examples_per_s']:.3f} ex/s, "
                f"seed's batch-1 generation {t['seed_examples_per_s']:.3f} ex/s, {t['ratio']:.1f}x"
            )
        print(f"evaluation overall: {evaluation['ratio']:.1f}x the seed's examples per second")
    Path(args.output).write_text(json.dumps(results, indent=2))
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
