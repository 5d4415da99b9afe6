"""Peak memory and time of pruning a model in memory, onloaded and streamed from disk (a fresh process each).

Every mode prunes the same calibration tokens (random ids, fixed seed) in its own Python process, whose peak
resident set size (``ru_maxrss``) is read at the end; ``baseline`` only imports the libraries, so
``peak - baseline`` is what pruning itself costs. The goal of issue #7 is
``peak - baseline <= 1.5 x fp32 model size + calibration activations``.

    python benchmarks/memory_benchmark.py --model embedded --nsamples 16 --seqlen 256 --out memory.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = {"baseline": None, "in-memory": {}, "onload": {"onload": True}, "stream": {"stream": True}}


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler:
    """Sample this process's resident memory every few milliseconds, keeping the breakdown at its peak.

    ``ru_maxrss`` says how high the peak was, not what it held; the sample nearest the peak splits it into
    anonymous memory (tensors, heap) and mapped file pages (libraries, memory-mapped checkpoints), and names the
    phase it happened in, so a peak above the goal says whether pruning or loading made it.
    """

    FIELDS = ("VmRSS", "RssAnon", "RssFile", "RssShmem")

    def __init__(self, interval_s: float = 0.005) -> None:
        import threading

        self.interval_s, self.phase, self.peak = interval_s, "start", {"VmRSS": 0.0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def sample(self) -> None:
        """Read ``/proc/self/status`` once; keep it if it is the highest resident size so far."""
        values = {}
        with open("/proc/self/status") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in self.FIELDS:
                    values[key] = int(rest.split()[0]) / 1024
        if values.get("VmRSS", 0.0) > self.peak["VmRSS"]:
            self.peak = {**values, "phase": self.phase}

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()


def fp32_size_mb(folder: Path) -> float:
    """Size of the model's weights in fp32, from the safetensors headers (no tensor is read)."""
    numel = 0
    for file in folder.glob("*.safetensors"):
        with open(file, "rb") as handle:
            header = json.loads(handle.read(int.from_bytes(handle.read(8), "little")))
        for name, entry in header.items():
            if name != "__metadata__":
                count = 1
                for size in entry["shape"]:
                    count *= size
                numel += count
    return numel * 4 / 2**20


def run_mode(mode: str, args: argparse.Namespace, tokens: Path, save: Path | None) -> dict:
    """Prune once in this process in ``mode`` (``baseline``: imports only) and measure it."""
    import torch  # noqa: F401  (the baseline pays for the same imports as the runs)

    from calibprune.callbacks import SparseGPT, Wanda
    from calibprune.datamodules.calibration import CalibrationDataModule
    from calibprune.prune.module import PruningModule
    from calibprune.prune.trainer import PruningTrainer

    result = {"mode": mode}
    if MODES[mode] is not None:
        method = {"Wanda": Wanda, "SparseGPT": SparseGPT}[args.method]()
        trainer = PruningTrainer(callbacks=[method], enable_progress_bar=False, accelerator="cpu", devices=1)
        module = PruningModule(args.model, args.dtype, offload_activations=True, **MODES[mode])
        data = CalibrationDataModule(
            [str(tokens)], nsamples=args.nsamples, seqlen=args.seqlen, batch_size=args.batch_size
        )
        start = time.perf_counter()
        with RssSampler() as sampler:
            phases(module, sampler)
            trainer.prune(module, data, save_model=str(save) if save else None)
        result["seconds"] = round(time.perf_counter() - start, 2)
        result["sampled_peak_mb"] = {k: v if isinstance(v, str) else round(v, 1) for k, v in sampler.peak.items()}
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return result


def phases(module: object, sampler: RssSampler) -> None:
    """Name the sampler's phase after the run's steps: loading, pruning (block loop), saving."""
    for method, phase in (("configure_model", "load"), ("save_pruned", "save")):
        original = getattr(module, method)

        def wrapped(*args: object, _original=original, _phase=phase, **kwargs: object) -> object:
            sampler.sample()
            sampler.phase = _phase
            try:
                return _original(*args, **kwargs)
            finally:
                sampler.sample()
                sampler.phase = "prune" if _phase == "load" else "end"

        setattr(module, method, wrapped)


def write_tokens(args: argparse.Namespace, folder: Path) -> Path:
    """Random calibration ids (seed 0) of the benchmark's shape, as a token file."""
    import torch
    from transformers import AutoConfig

    from calibprune.modeling.loading import resolve_model_path

    vocab = AutoConfig.from_pretrained(resolve_model_path(args.model)).vocab_size
    ids = torch.randint(0, vocab, (args.nsamples, args.seqlen), generator=torch.Generator().manual_seed(0))
    path = folder / "tokens.pt"
    torch.save({"input_ids": ids, "attention_mask": torch.ones_like(ids)}, path)
    return path


def main(argv: list[str] | None = None) -> list[dict]:
    """Run every mode in a fresh process, print a table and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--method", default="Wanda", choices=["Wanda", "SparseGPT"])
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--nsamples", type=int, default=16)
    parser.add_argument("--seqlen", type=int, default=256)
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of " + ", ".join(MODES))
    parser.add_argument("--save_dir", help="save each mode's pruned model to SAVE_DIR/<mode>")
    parser.add_argument("--out", default="memory_benchmark.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--tokens", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        save = Path(args.save_dir) / args.child if args.save_dir and MODES[args.child] is not None else None
        print("RESULT " + json.dumps(run_mode(args.child, args, Path(args.tokens), save)))
        return []

    from calibprune.modeling.loading import resolve_model_path

    folder = Path(resolve_model_path(args.model))
    size = fp32_size_mb(folder)
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        tokens = write_tokens(args, Path(scratch))
        for mode in args.modes.split(","):
            cmd = [
                sys.executable,
                __file__,
                *(argv if argv is not None else sys.argv[1:]),
                "--model",  # the folder resolved here: a child never converts or downloads a model itself
                str(folder),
                "--child",
                mode,
                "--tokens",
                str(tokens),
            ]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
            if done.returncode or not lines:
                raise RuntimeError(f"{mode} failed:\n{done.stderr[-3000:]}")
            results.append(json.loads(lines[-1][len("RESULT ") :]))
    baseline = next((r["peak_rss_mb"] for r in results if r["mode"] == "baseline"), 0.0)
    print(f"model {args.model}: {size:.0f} MB in fp32; {args.nsamples} x {args.seqlen} tokens, {args.method}")
    print(f"{'mode':<10} {'peak RSS MB':>12} {'- baseline':>11} {'x fp32 size':>12} {'seconds':>8}")
    for result in results:
        result["above_baseline_mb"] = round(result["peak_rss_mb"] - baseline, 1)
        result["x_fp32_size"] = round(result["above_baseline_mb"] / size, 3)
        print(
            f"{result['mode']:<10} {result['peak_rss_mb']:>12.0f} {result['above_baseline_mb']:>11.0f} "
            f"{result['x_fp32_size']:>12.2f} {result.get('seconds', 0):>8.1f}"
        )
        if "sampled_peak_mb" in result:
            peak = result["sampled_peak_mb"]
            print(
                f"{'':<10} sampled peak in {peak.get('phase')}: {peak.get('RssAnon', 0):.0f} MB anonymous, "
                f"{peak.get('RssFile', 0):.0f} MB mapped files, {peak.get('RssShmem', 0):.0f} MB shared"
            )
    report = {
        "model": args.model,
        "fp32_size_mb": round(size, 1),
        "method": args.method,
        "dtype": args.dtype,
        "nsamples": args.nsamples,
        "seqlen": args.seqlen,
        "results": results,
    }
    Path(args.out).write_text(json.dumps(report, indent=2))
    return results


if __name__ == "__main__":
    main()
