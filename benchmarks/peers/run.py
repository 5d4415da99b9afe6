"""calibprune against llm-compressor, the original Wanda/SparseGPT code and the physical limit, on the same tokens.

Every run is a fresh process: calibprune (and the limit) in calibprune's environment; llm-compressor's
``oneshot`` and the original code (``original.py``) in the peers' own virtual environment, created on first
use under ``~/.cache/calibprune/peer-venvs`` (torch 2.13.0 first, then ``llmcompressor==LLMCOMPRESSOR``).
Repeats are interleaved (``for repeat: for implementation: run``). Results accumulate in ``--output`` (JSON),
so sizes and methods can be run by separate invocations and tabulated together with ``--report``.

Measured per run: prune time (model loaded, not timed), peak RSS while pruning (loaded model included) and
above the loaded process, WikiText-2 perplexity on the same windows for all, and the share of mask entries
equal to calibprune's. Run from the repository root, one size and method per invocation::

    flock /tmp/calibprune-heavy.lock python -m benchmarks.peers.run --nsamples 16 --seqlen 256 --methods wanda
    python -m benchmarks.peers.run --report
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from benchmarks.peers.common import mask_agreement

LLMCOMPRESSOR = "0.14.0.1"
IMPLS = ("calibprune", "llmcompressor", "original", "limit")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = Path(os.environ.get("CALIBPRUNE_CACHE", Path.home() / ".cache" / "calibprune"))

# Where llm-compressor's settings (as run here) differ from calibprune's; checked in its 0.14.0.1 source.
SETTINGS = """settings (calibprune | llm-compressor as run here | original code):
  sparsity 0.5 unstructured                      | sparsity=0.5, mask_structure="0:0"        | 0.5, prune_n=0
  targets: decoder-block Linear layers            | targets=["Linear"] also matches lm_head  | decoder-block Linear
                                                  |   (tied to the embeddings): ignore it    |
  sequential unit: one decoder block              | one LlamaDecoderLayer per traced subgraph| one block
                                                  |   (+ a 31st subgraph: the head)          |
  pruned outputs feed the next block              | propagate_error=True (same)              | same
  calibration pass stops at down_proj's input     | whole block                              | whole block
  batches of --batch_size                         | batch_size set to the same               | one sample a pass
  Wanda: lowest int(cols*0.5) per row, stable ties| same (stable sort)                       | same
  SparseGPT block 128, damping 0.01 mean diag     | block_size=128, dampening_frac=0.01      | 128, 0.01
  SparseGPT mask per 128-col block: exactly       | tmp <= sorted[int(n*0.5)]: one more      | same as llm-compressor
    int(n*0.5) lowest                             |   weight (plus ties) per block            |
  one Hessian per distinct input (q/k/v share)    | one Hessian per layer (q, k, v: three)   | one per layer
  statistics: token-weighted fp32 sums            | running means per sample (equal here:    | same as llm-compressor
                                                  |   full-length windows, no padding)       |"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="embedded", help="model (default: the embedded SmolLM2-135M)")
    parser.add_argument(
        "--data_dir",
        default=str(ROOT.parent / "shared" / "data"),
        help="folder with c4/train.jsonl and wikitext/test.jsonl",
    )
    parser.add_argument("--nsamples", type=int, default=16, help="calibration sequences")
    parser.add_argument("--seqlen", type=int, default=256, help="tokens per calibration sequence")
    parser.add_argument("--batch_size", type=int, default=8, help="calibration batch size (calibprune, llm-compressor)")
    parser.add_argument("--ppl_windows", type=int, default=32, help="WikiText-2 windows of 256 tokens")
    parser.add_argument("--methods", nargs="+", default=["wanda"], choices=["wanda", "sparsegpt"])
    parser.add_argument("--impls", nargs="+", default=list(IMPLS), choices=IMPLS)
    parser.add_argument("--repeats", type=int, default=2, help="interleaved repeats of every run")
    parser.add_argument(
        "--output", default=str(CACHE / "peer-bench" / "results.json"), help="JSON file the runs are added to"
    )
    parser.add_argument("--report", action="store_true", help="only print the table of --output")
    return parser.parse_args(argv)


# ---- environments ---------------------------------------------------------------------------------------------
def peer_python() -> Path:
    """The peers' interpreter; the virtual environment is created on first use (network install)."""
    venv = CACHE / "peer-venvs" / f"llmcompressor-{LLMCOMPRESSOR}"
    python, ready = venv / "bin" / "python", venv / ".ready"
    if not ready.exists():
        print(f"creating {venv} (torch 2.13.0, llmcompressor {LLMCOMPRESSOR}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "torch==2.13.0"], check=True)  # first: a bare torch would pull a CUDA build
        subprocess.run([*pip, f"llmcompressor=={LLMCOMPRESSOR}", "torch==2.13.0"], check=True)
        ready.write_text(LLMCOMPRESSOR)
    return python


def model_dir(model: str) -> Path:
    """A plain Hugging Face folder of the model that the peers can load (the embedded GGUF dequantised)."""
    from calibprune.modeling.loading import EMBEDDED_MODEL, embedded_model_dir

    return embedded_model_dir() if model == EMBEDDED_MODEL else Path(model)


# ---- data ----------------------------------------------------------------------------------------------------
def prepare(args: argparse.Namespace, workdir: Path) -> tuple[Path, Path]:
    """The C4 calibration windows and WikiText-2 windows of the benchmark (made once, then reused)."""
    from benchmarks.prune_benchmark import c4_windows, wikitext_windows
    from calibprune.modeling.loading import load_tokenizer

    tokens, wikitext = workdir / "tokens.pt", workdir.parent / f"wikitext-{args.ppl_windows}x256.pt"
    data = Path(args.data_dir)
    if not tokens.exists() or not wikitext.exists():
        tokenizer = load_tokenizer(args.model)
        ids = c4_windows(tokenizer, data / "c4" / "train.jsonl", args.nsamples, args.seqlen, 0)
        torch.save({"input_ids": ids, "attention_mask": torch.ones_like(ids)}, tokens)
        torch.save(wikitext_windows(tokenizer, data / "wikitext" / "test.jsonl", args.ppl_windows, 256), wikitext)
    return tokens, wikitext


def dense_perplexity(model: str, wikitext: Path) -> float:
    from benchmarks.peers.common import perplexity
    from calibprune.modeling.loading import load_model

    return perplexity(load_model(model), torch.load(wikitext))


# ---- one run --------------------------------------------------------------------------------------------------
def worker_command(
    impl: str,
    method: str,
    model: str,
    tokens: Path,
    wikitext: Path | None,
    out: Path,
    batch_size: int,
    peer: Path,
    device: tuple[str, ...] = (),
) -> list[str]:
    """The command line of one run: calibprune and the limit by this interpreter, the peers by ``peer``.

    ``model`` is what calibprune loads; the peers get :func:`model_dir` of it. ``device`` is the workers'
    optional ``DEVICE DTYPE`` arguments; ``wikitext=None`` skips the perplexity.
    """
    text, bs = str(wikitext) if wikitext else "none", str(batch_size)
    if impl == "calibprune":
        return [
            sys.executable,
            str(HERE / "calibprune_worker.py"),
            method,
            model,
            str(tokens),
            text,
            str(out),
            bs,
            *device,
        ]
    if impl == "limit":
        return [sys.executable, str(HERE / "limit.py"), model, str(tokens), str(out), bs, *device]
    folder = str(model_dir(model))
    if impl == "llmcompressor":
        worker = HERE / "llmcompressor_worker.py"
        return [str(peer), str(worker), method, folder, str(tokens), text, str(out), bs, *device]
    return [str(peer), str(HERE / "original.py"), method, folder, str(tokens), text, str(out), *device]


def run_worker(command: list[str], out: Path, label: str) -> dict:
    """Run one worker in a fresh process (output in ``out``'s ``.log``) and return its saved result.

    Raises:
        RuntimeError: naming the log, when the worker fails.
    """
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    start = time.perf_counter()
    log = out.with_suffix(".log")
    with open(log, "w") as f:
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
    if done.returncode:
        raise RuntimeError(f"{label} failed (exit {done.returncode}); see {log}")
    print(f"  {label:<23} {time.perf_counter() - start:6.1f} s in its process", flush=True)
    return torch.load(out)


def run_one(args: argparse.Namespace, impl: str, method: str, tokens: Path, wikitext: Path, out: Path) -> dict:
    peer = peer_python() if impl in ("llmcompressor", "original") else Path(sys.executable)
    command = worker_command(impl, method, args.model, tokens, wikitext, out, args.batch_size, peer)
    try:
        return run_worker(command, out, f"{impl} {method}")
    except RuntimeError as err:
        raise SystemExit(str(err)) from None


def measure(args: argparse.Namespace) -> None:
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(output.read_text()) if output.exists() else {"runs": []}
    size = f"{args.nsamples}x{args.seqlen}"
    workdir = output.parent / size
    workdir.mkdir(exist_ok=True)
    tokens, wikitext = prepare(args, workdir)
    results.setdefault("dense_wikitext_ppl", {})
    if args.model not in results["dense_wikitext_ppl"]:
        results["dense_wikitext_ppl"][args.model] = dense_perplexity(args.model, wikitext)
    for _repeat in range(args.repeats):
        for method in args.methods:
            for impl in args.impls:
                if impl == "limit" and method != args.methods[0]:
                    continue  # one limit run gives both methods' limits
                out = workdir / f"{impl}-{method if impl != 'limit' else 'all'}.pt"
                r = run_one(args, impl, method, tokens, wikitext, out)
                zeros = r.pop("zeros", None)
                ours = workdir / f"calibprune-{method}-zeros.pt"
                if impl == "calibprune" and not ours.exists():
                    torch.save(zeros, ours)
                if zeros is not None and ours.exists():
                    r["mask_agreement_with_calibprune"] = mask_agreement(zeros, torch.load(ours))
                r.update(
                    impl=impl,
                    method=method if impl != "limit" else "both",
                    size=size,
                    batch_size=args.batch_size,
                    load_average=os.getloadavg()[0],
                    finished=time.time(),
                )
                results["runs"].append(r)
                output.write_text(json.dumps(results, indent=1))
    results["cpu_count"] = os.cpu_count()
    output.write_text(json.dumps(results, indent=1))


# ---- the table ------------------------------------------------------------------------------------------------
def report(path: Path) -> str:
    results = json.loads(path.read_text())
    runs = results["runs"]
    lines = [
        f"dense WikiText-2 ppl: {results['dense_wikitext_ppl']}",
        "",
        "| size | method | implementation | time min / median s (runs) | x llm-compressor | x limit "
        "| peak RSS MiB (above loaded) | WikiText-2 ppl | masks = calibprune's |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    sizes = sorted({r["size"] for r in runs}, key=lambda s: [int(x) for x in s.split("x")])
    for size in sizes:
        limits = [r for r in runs if r["size"] == size and r["impl"] == "limit"]
        for method in ("wanda", "sparsegpt"):
            group = {
                impl: [r for r in runs if r["size"] == size and r["method"] == method and r["impl"] == impl]
                for impl in IMPLS
                if impl != "limit"
            }
            if not any(group.values()):
                continue
            limit = min(r[method] for r in limits) if limits else float("nan")
            peer = min((r["seconds"] for r in group["llmcompressor"]), default=float("nan"))
            for impl, rs in group.items():
                if not rs:
                    continue
                times = [r["seconds"] for r in rs]
                best = min(times)
                peak = min(r["peak_rss_mib"] for r in rs)
                above = min(r["peak_rss_mib"] - r["loaded_rss_mib"] for r in rs)
                ppl = rs[-1]["wikitext_ppl"]
                agree = rs[-1].get("mask_agreement_with_calibprune", float("nan"))
                lines.append(
                    f"| {size} | {method} | {impl} | {best:.1f} / {statistics.median(times):.1f} ({len(rs)}) "
                    f"| {best / peer:.2f} | {best / limit:.2f} | {peak:.0f} ({above:.0f}) | {ppl:.2f} "
                    f"| {100 * agree:.3f}% |"
                )
            if limits:
                parts = limits[0]
                detail = (
                    f"stats pass {min(r['stats_pass'] for r in limits):.1f} + full pass "
                    f"{min(r['full_pass'] for r in limits):.1f}"
                )
                if method == "sparsegpt":
                    detail += (
                        f" + factorise {min(r['factorise'] for r in limits):.2f} + OBS updates "
                        f"{min(r['obs_update'] for r in limits):.2f} (Hessian products "
                        f"{min(r['hessian'] for r in limits):.1f} more: "
                        f"{min(r['sparsegpt_with_hessian'] for r in limits):.1f} s)"
                    )
                lines.append(
                    f"| {size} | {method} | physical limit | {limit:.1f} ({len(limits)}) | "
                    f"{limit / peer:.2f} | 1 | | | {detail} |"
                )
                del parts
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not args.report:
        measure(args)
    print(SETTINGS)
    print(report(Path(args.output)))


if __name__ == "__main__":
    main()
