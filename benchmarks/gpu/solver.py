"""The SparseGPT solver alone: the batched one (each ``--sub_block``) against the column loop it replaced.

Random weights of real layer shapes and a random SPD Hessian (``2 X^T X / tokens`` of Gaussian inputs),
blocksize 128, unstructured 50% and 2:4; seconds (the device waited for), mask agreement and the largest
weight difference against the column loop (``tests/engine/test_sparsegpt_batched.py``, on all threads).
Run from the repository root::

    python -m benchmarks.gpu.solver --device cuda --shapes 4096x4096 11008x4096 --sub_blocks 16 32 64 128
"""

from __future__ import annotations

import argparse
import time

import torch

from calibprune.engine.sparsegpt import sparsegpt_solve
from calibprune.engine.sparsity import SparsityPattern
from tests.engine.test_sparsegpt_batched import column_loop_sparsegpt


def _timed(device: str, fn, *args, **kwargs):
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--shapes", nargs="+", default=["4096x4096", "11008x4096"], help="ROWSxCOLUMNS")
    parser.add_argument("--sub_blocks", nargs="+", type=int, default=[16, 32, 64, 128])
    parser.add_argument("--patterns", nargs="+", default=["unstructured", "2:4"])
    parser.add_argument("--no_loop", action="store_true", help="leave out the (slow) column loop")
    args = parser.parse_args(argv)
    generator = torch.Generator(device=args.device).manual_seed(0)
    print(
        "| shape | pattern | solver | seconds | masks = loop's | max weight difference |\n|---|---|---|---:|---:|---:|"
    )
    for shape in args.shapes:
        rows, cols = (int(n) for n in shape.split("x"))
        weight = torch.randn(rows, cols, device=args.device, generator=generator)
        x = torch.randn(2 * cols, cols, device=args.device, generator=generator)
        hessian = 2 * x.T @ x / x.shape[0]
        del x
        for name in args.patterns:
            pattern = SparsityPattern.parse(name, 0.5)
            sparsegpt_solve(weight[:256], hessian, pattern)  # warm-up (kernels, allocator)
            loop = None
            if not args.no_loop:
                seconds, loop = _timed(args.device, column_loop_sparsegpt, weight, hessian, pattern)
                print(f"| {shape} | {name} | column loop | {seconds:.2f} | 100% | 0 |", flush=True)
            for sub in args.sub_blocks:
                seconds, (pruned, mask, info) = _timed(
                    args.device, sparsegpt_solve, weight, hessian, pattern, sub_block=sub
                )
                agree = f"{100 * float((mask == loop[1]).float().mean()):.4f}%" if loop else ""
                diff = f"{float((pruned - loop[0]).abs().max()):.2e}" if loop else ""
                print(f"| {shape} | {name} | batched, sub-block {sub} | {seconds:.2f} | {agree} | {diff} |", flush=True)
                assert int(info) == 0


if __name__ == "__main__":
    main()
