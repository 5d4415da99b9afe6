"""How close each fp32 SparseGPT solver comes to the float64 solution, on the embedded model's real Hessians.

For every Linear layer of the chosen decoder blocks (dense model, the same C4 calibration tokens as
``benchmarks/prune_benchmark.py``), the layer-wise objective ``tr((W - W') H (W - W')^T)`` that SparseGPT
minimises, for the float64 batched solution (the truth) and for the fp32 column loop and fp32 batched solver:
their relative excess over the truth and their mask agreement with it; and the fp32 batched solver given the
Hessian of bf16-rounded inputs (``--method.hessian_precision bfloat16``), scored with the exact Hessian. A
solver is as accurate as the other when both stay at float rounding from the truth on identical inputs; end to
end the pruned blocks feed the next ones, so last-bit differences grow into different masks in deep blocks
whichever solver is used (README, Speed).
Run from the repository root::

    python -m benchmarks.sparsegpt_accuracy --blocks 0 15 --patterns unstructured 2:4
"""

from __future__ import annotations

import argparse

import torch

from benchmarks.prune_benchmark import c4_windows
from calibprune.engine.sparsegpt import sparsegpt_solve
from calibprune.engine.sparsity import SparsityPattern
from calibprune.modeling.blocks import decoder_blocks, linear_layers
from calibprune.modeling.loading import load_model, load_tokenizer
from tests.conftest import SHARED_DATA
from tests.engine.test_sparsegpt_batched import column_loop_sparsegpt


def layer_hessians(
    model, ids: torch.Tensor, blocks: list[int], round_to: torch.dtype | None = None
) -> dict[tuple[int, str], torch.Tensor]:
    """``2 X^T X / tokens`` (float64) of the input of every Linear layer of ``blocks``, dense forward passes.

    ``round_to``: round the inputs to this dtype first (``torch.bfloat16``: ``--method.hessian_precision``'s
    opt-in); the products and sums stay float64.
    """
    _, decoder = decoder_blocks(model)
    sums: dict[tuple[int, str], torch.Tensor] = {}

    def hook(key):
        def add(_module, args):
            x = args[0].reshape(-1, args[0].shape[-1])
            x = (x if round_to is None else x.to(round_to)).double()
            sums[key] = sums.get(key, 0) + x.T @ x

        return add

    handles = [
        layer.register_forward_pre_hook(hook((index, name)))
        for index in blocks
        for name, layer in linear_layers(decoder[index]).items()
    ]
    with torch.no_grad():
        for batch in ids.split(4):
            model(batch, use_cache=False)
    for handle in handles:
        handle.remove()
    return {key: 2 * value / ids.numel() for key, value in sums.items()}


def objective(weight: torch.Tensor, pruned: torch.Tensor, hessian: torch.Tensor) -> float:
    """SparseGPT's layer-wise loss ``tr((W - W') H (W - W')^T)`` in float64."""
    delta = weight - pruned.double()
    return float(torch.einsum("ij,jk,ik->", delta, hessian, delta))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", nargs="+", type=int, default=[0, 15])
    parser.add_argument("--patterns", nargs="+", default=["unstructured", "2:4"])
    parser.add_argument("--nsamples", type=int, default=16)
    parser.add_argument("--seqlen", type=int, default=256)
    args = parser.parse_args(argv)
    model = load_model("embedded").float().eval()
    ids = c4_windows(load_tokenizer("embedded"), SHARED_DATA / "c4" / "train.jsonl", args.nsamples, args.seqlen, 0)
    hessians = layer_hessians(model, ids, args.blocks)
    rounded = layer_hessians(model, ids, args.blocks, round_to=torch.bfloat16)
    _, decoder = decoder_blocks(model)
    print(
        "| pattern | block | layer | objective (fp64) | column loop fp32: excess, masks | batched fp32: same "
        "| batched fp32, bf16-rounded inputs: same |"
    )
    print("|---|---:|---|---:|---:|---:|---:|")
    for name in args.patterns:
        pattern = SparsityPattern.parse(name, 0.5)
        for (index, layer), hessian in hessians.items():
            weight = linear_layers(decoder[index])[layer].weight.detach().double()
            truth, truth_mask, _ = sparsegpt_solve(weight, hessian, pattern)
            loop, loop_mask = column_loop_sparsegpt(weight.float(), hessian.float(), pattern)
            batched, batched_mask, _ = sparsegpt_solve(weight.float(), hessian.float(), pattern)
            bf16, bf16_mask, _ = sparsegpt_solve(weight.float(), rounded[index, layer].float(), pattern)
            best = objective(weight, truth, hessian)
            cells = [
                f"{objective(weight, p, hessian) / best - 1:+.1e}, {100 * float((m == truth_mask).float().mean()):.3f}%"
                for p, m in ((loop, loop_mask), (batched, batched_mask), (bf16, bf16_mask))
            ]
            print(f"| {name} | {index} | {layer} | {best:.4g} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
