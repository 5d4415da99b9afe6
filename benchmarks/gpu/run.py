"""calibprune against llm-compressor, the original Wanda/SparseGPT code and the physical limit on a real shape.

A random-weight model of a named shape (``benchmarks/gpu/shapes.py``: Llama-3-8B, Llama-2-7B, Qwen2.5-7B or
``tiny``, ``--blocks`` decoder blocks) is built once, with a word-level tokenizer and a random token file;
then every implementation runs in a fresh process on the same tokens, with the model on the device before
the clock (llm-compressor: on the CPU, its default, onloaded block by block), through the workers of
``benchmarks/peers/``, all by this interpreter. Run from the repository root::

    python -m benchmarks.gpu --shape llama3-8b --blocks 4 --nsamples 128 --seqlen 2048 --batch_size 8 \\
        --dtype bfloat16 --device cuda --output results.json

Measured per run: prune seconds (``torch.cuda.synchronize`` before the clock stops), peak
``torch.cuda.max_memory_allocated`` (peak RSS on the CPU), and the share of mask entries equal to
calibprune's. A peer that is not installed, skipped (``--skip``) or failing gives a row saying so.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from benchmarks.gpu.shapes import SHAPES, build, random_tokens
from benchmarks.peers.common import mask_agreement
from benchmarks.peers.run import CACHE, ROOT, run_worker, worker_command

IMPLS = ("calibprune", "llmcompressor", "original")
NAMES = {"calibprune": "calibprune", "llmcompressor": "llm-compressor", "original": "original code"}
METHODS = {"wanda": "Wanda 50%", "sparsegpt": "SparseGPT 50%"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", default="llama3-8b", choices=sorted(SHAPES), help="model shape")
    parser.add_argument("--blocks", type=int, default=4, help="decoder blocks of the model")
    parser.add_argument("--nsamples", type=int, default=128, help="calibration sequences")
    parser.add_argument("--seqlen", type=int, default=2048, help="tokens per calibration sequence")
    parser.add_argument("--batch_size", type=int, default=8, help="calibration batch size (calibprune, llm-compressor)")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"], help="model dtype")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help="where every implementation runs")
    parser.add_argument("--skip", nargs="*", default=[], choices=[*IMPLS[1:], "limit"], help="runs left out")
    parser.add_argument("--workdir", default=str(CACHE / "gpu-bench"), help="models, tokens and worker outputs")
    parser.add_argument("--output", default="results.json", help="JSON file of the runs and the table")
    return parser.parse_args(argv)


def prepare(args: argparse.Namespace) -> tuple[Path, Path]:
    """The model folder and token file (built once per shape, blocks and dtype; tokens per size).

    On a GPU the model is built in a fresh process, so that this one never holds device memory.
    """
    base = Path(args.workdir) / f"{args.shape}-{args.blocks}blocks-{args.dtype}"
    base.mkdir(parents=True, exist_ok=True)
    folder = base / "model"
    if not folder.exists():
        start = time.perf_counter()
        if args.device == "cpu":
            build(folder, args.shape, args.blocks, args.dtype, args.device)
        else:
            command = [sys.executable, "-m", "benchmarks.gpu.shapes", str(folder), args.shape, str(args.blocks)]
            subprocess.run([*command, args.dtype, args.device], cwd=ROOT, check=True)
        print(f"  built {base.name} in {time.perf_counter() - start:.1f} s", flush=True)
    tokens = base / f"tokens-{args.nsamples}x{args.seqlen}.pt"
    if not tokens.exists():
        random_tokens(tokens, SHAPES[args.shape]["vocab_size"], args.nsamples, args.seqlen)
    return folder, tokens


def absent(impl: str, args: argparse.Namespace) -> str | None:
    """Why ``impl`` does not run (skipped, not installed), or ``None``."""
    if impl in args.skip:
        return "skipped"
    if impl == "llmcompressor" and importlib.util.find_spec("llmcompressor") is None:
        return "not installed"
    return None


def run_all(args: argparse.Namespace) -> dict:
    """Every run of the benchmark; calibprune's first for each method (its masks are the reference)."""
    folder, tokens = prepare(args)
    outdir = folder.parent / f"runs-{args.nsamples}x{args.seqlen}"
    outdir.mkdir(exist_ok=True)
    device = (args.device, args.dtype)
    runs: list[dict] = []
    for method in args.methods:
        reference = None
        for impl in IMPLS:
            row = {"method": method, "impl": impl, "status": absent(impl, args) or "ok"}
            runs.append(row)
            if row["status"] != "ok":
                continue
            out = outdir / f"{impl}-{method}.pt"
            command = worker_command(impl, method, str(folder), tokens, None, out, args.batch_size, sys.executable)
            try:
                result = run_worker([*command, *device], out, f"{impl} {method}")
            except RuntimeError as err:
                row["status"] = f"failed: {err}"
                continue
            zeros = result.pop("zeros")
            reference = zeros if impl == "calibprune" else reference
            if reference is not None:
                row["masks_equal_calibprune"] = mask_agreement(zeros, reference)
            row.update({k: v for k, v in result.items() if isinstance(v, (int, float, str)) or v is None})
    limit = {"method": "all", "impl": "limit", "status": absent("limit", args) or "ok"}
    if limit["status"] == "ok":
        out = outdir / "limit.pt"
        command = worker_command("limit", "all", str(folder), tokens, None, out, args.batch_size, sys.executable)
        try:
            limit.update(run_worker([*command, *device], out, "limit"))
        except RuntimeError as err:
            limit["status"] = f"failed: {err}"
    runs.append(limit)
    settings = {k: v for k, v in vars(args).items() if k not in ("output", "workdir")}
    return {"settings": settings, "runs": runs, "load_average": os.getloadavg()[0], "torch": torch.__version__}


def limit_seconds(limit: dict, method: str) -> float | None:
    """The limit of ``method``: Wanda's forward passes; SparseGPT's with the exact ``X^T X`` and factorisations."""
    key = "wanda" if method == "wanda" else "sparsegpt_with_hessian"
    return limit.get(key)


def table(results: dict) -> str:
    """The issue's table: method, implementation, prune s, x llm-compressor, x limit, peak memory, masks."""
    runs, gpu = results["runs"], results["settings"]["device"] == "cuda"
    limit = next(r for r in runs if r["impl"] == "limit")
    memory = "peak GPU GiB" if gpu else "peak RSS MiB"
    lines = [
        f"| method | implementation | prune s | x llm-compressor | x limit | {memory} | masks = calibprune's |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for method in results["settings"]["methods"]:
        rows = {r["impl"]: r for r in runs if r["method"] == method}
        peer = rows.get("llmcompressor", {}).get("seconds")
        bound = limit_seconds(limit, method)
        for impl in IMPLS:
            r = rows[impl]
            if "seconds" not in r:
                lines.append(f"| {METHODS[method]} | {NAMES[impl]} | {r['status']} | | | | |")
                continue
            peak = r["peak_gpu_gib"] if gpu else r["peak_rss_mib"]
            agree = r.get("masks_equal_calibprune")
            lines.append(
                f"| {METHODS[method]} | {NAMES[impl]} | {r['seconds']:.2f} | {_ratio(r['seconds'], peer)} "
                f"| {_ratio(r['seconds'], bound)} | {peak:.2f} | {'' if agree is None else f'{100 * agree:.3f}%'} |"
            )
        if bound is not None:
            lines.append(f"| {METHODS[method]} | physical limit | {bound:.2f} | {_ratio(bound, peer)} | 1 | | |")
    if "wanda" in limit:
        lines.append("")
        lines.append(
            f"limit parts: statistics pass {limit['stats_pass']:.2f} s, full pass {limit['full_pass']:.2f} s, "
            f"X^T X {limit['hessian']:.2f} s (exact fp32 sums"
            + (f"; {limit['hessian_fp32']:.2f} s with inputs cast to fp32" if "hessian_fp32" in limit else "")
            + f"), factorisations {limit['factorise']:.2f} s, OBS block updates {limit['obs_update']:.2f} s"
        )
    else:
        lines.append(f"\nlimit: {limit['status']}")
    return "\n".join(lines)


def _ratio(seconds: float, reference: float | None) -> str:
    return f"{seconds / reference:.2f}" if reference else ""


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device visible; use --device cpu")
    start = time.perf_counter()
    results = run_all(args)
    results["wall_seconds"] = time.perf_counter() - start
    text = table(results)
    results["table"] = text
    Path(args.output).write_text(json.dumps(results, indent=1))
    print(text)
    print(f"\n{results['wall_seconds']:.0f} s in all; results in {args.output}")


if __name__ == "__main__":
    main()
