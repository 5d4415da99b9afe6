"""The physical limit of one-shot pruning on this machine: the time of the work no implementation can avoid.

Measured on the same calibration batches as calibprune (the model's own block inputs, batch by batch):

* ``stats_pass``: every decoder block run on every batch up to the input of its last Linear layer (the
  statistics of every layer are then known; nothing after that input is needed);
* ``full_pass``: every decoder block run whole on every batch (the pruned block's outputs feed the next block;
  a dense kernel costs the same on pruned weights, so the dense weights are used);
* SparseGPT also ``factorise``: per distinct layer input of a block (q/k/v, o, gate/up, down), the damped
  Hessian's Cholesky factor, its inverse and the inverse's upper Cholesky factor (``O(d^3)``); and
  ``obs_update``: the lazy block updates of the solver ``W[:, i2:] -= Err @ Hinv[i1:i2, i2:]`` for the
  stacked rows of the layers that share the input (``O(rows d^2)``);
* ``hessian``: ``X^T X`` of every distinct input over all tokens, reported apart: it is ``O(tokens d^2)``
  work that SparseGPT needs but the issue's limit does not count, so both limits are printed.

Nothing else (no hooks, no mask selection, no Python bookkeeping): Wanda's limit is ``stats_pass + full_pass``,
SparseGPT's ``stats_pass + full_pass + factorise + obs_update`` (and with ``hessian``, the stricter-to-beat one).

Run by ``benchmarks/peers/run.py``::

    python benchmarks/peers/limit.py MODEL TOKENS RESULT BATCH_SIZE [DEVICE [DTYPE]]

On a GPU every timed part waits for the device before and after (``torch.cuda.synchronize``). ``X^T X`` is the
exact fp32 sum (``calibprune.engine.gram``): fp32 inputs by an fp32 product, bf16/fp16 inputs (exact in fp32)
by the GPU's half-precision kernel with fp32 output; for half inputs ``hessian_fp32``, the same sums from inputs
cast to fp32 first (the 2023 code's way), is reported beside it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from calibprune.engine.gram import GramProduct


def _synchronize() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def _timed(seconds: dict[str, float], key: str, fn, *args):
    _synchronize()
    start = time.perf_counter()
    out = fn(*args)
    _synchronize()
    seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - start
    return out


def _hessian_product(hessian: torch.Tensor, x: torch.Tensor) -> None:
    product = GramProduct("float32", hessian.device)
    x = product.operand(x)
    product.add(hessian, x.T, x)


def _hessian_product_fp32(hessian: torch.Tensor, x: torch.Tensor) -> None:
    x = x.float()
    hessian.addmm_(x.T, x)


def _factorise(hessian: torch.Tensor) -> torch.Tensor:
    eye = torch.eye(hessian.shape[0], device=hessian.device)
    damped = hessian + 0.01 * torch.diagonal(hessian).mean() * eye
    inverse = torch.cholesky_inverse(torch.linalg.cholesky(damped))
    return torch.linalg.cholesky(inverse, upper=True)


def _obs_update(weight: torch.Tensor, hinv: torch.Tensor, blocksize: int = 128) -> None:
    W = weight.clone()
    for i1 in range(0, W.shape[1], blocksize):
        i2 = min(i1 + blocksize, W.shape[1])
        W[:, i2:] -= W[:, i1:i2] @ hinv[i1:i2, i2:]


@torch.no_grad()
def measure_limit(
    model_name: str, tokens: Path, batch_size: int, device: str = "cpu", dtype: str = "float32"
) -> dict[str, float]:
    """Seconds of each unavoidable part, summed over the decoder blocks (see the module docstring)."""
    from calibprune.modeling.blocks import decoder_blocks, linear_layers
    from calibprune.modeling.capture import capture_block_inputs, linear_call_order, run_block, run_block_until
    from calibprune.modeling.loading import load_model

    model = load_model(model_name, dtype).to(device)
    _, blocks = decoder_blocks(model)
    ids = torch.load(tokens)["input_ids"].to(device)
    # Full-length windows: no padding, known on the host (the attention then needs no mask).
    batches = [capture_block_inputs(model, blocks[0], b, torch.ones_like(b), False) for b in ids.split(batch_size)]
    seconds: dict[str, float] = {}
    for block in blocks:
        layers = linear_layers(block)
        order, _ = linear_call_order(block, batches[0], layers)
        inputs: dict[int, tuple[torch.Tensor, list[torch.Tensor]]] = {}

        def keep(layer, args, inputs=inputs):
            x = args[0]
            inputs.setdefault(id(x), (x, []))[1].append(layer.weight)

        handles = [layer.register_forward_pre_hook(keep) for layer in layers.values()]
        run_block_until(block, batches[0], layers[order[-1]])  # which layers share an input (not timed)
        for handle in handles:
            handle.remove()
        groups = [(x.shape[-1], torch.cat(weights).float()) for x, weights in inputs.values()]
        captured = []
        for b in batches:
            _timed(seconds, "stats_pass", run_block_until, block, b, layers[order[-1]])
        # The layer inputs themselves, for the Hessian products (captured untimed, by one more hooked pass).
        for b in batches:
            seen: dict[int, torch.Tensor] = {}
            hs = [
                layer.register_forward_pre_hook(lambda _m, a, seen=seen: seen.setdefault(id(a[0]), a[0]))
                for layer in layers.values()
            ]
            run_block_until(block, b, layers[order[-1]])
            for h in hs:
                h.remove()
            captured.append([x.reshape(-1, x.shape[-1]) for x in seen.values()])
        hessians = [torch.zeros(d, d, device=device) for d, _ in groups]
        for xs in captured:
            for h, x in zip(hessians, xs, strict=True):
                _timed(seconds, "hessian", _hessian_product, h, x)
                if x.dtype != torch.float32:
                    _timed(seconds, "hessian_fp32", _hessian_product_fp32, torch.zeros_like(h), x)
        del captured
        for h, (_, weight) in zip(hessians, groups, strict=True):
            h *= 2.0 / ids.numel()
            hinv = _timed(seconds, "factorise", _factorise, h)
            _timed(seconds, "obs_update", _obs_update, weight, hinv)
        for b in batches:
            b.hidden = _timed(seconds, "full_pass", run_block, block, b)
    seconds["wanda"] = seconds["stats_pass"] + seconds["full_pass"]
    seconds["sparsegpt"] = seconds["wanda"] + seconds["factorise"] + seconds["obs_update"]
    seconds["sparsegpt_with_hessian"] = seconds["sparsegpt"] + seconds["hessian"]
    seconds["threads"] = torch.get_num_threads()
    return seconds


def main(argv: list[str]) -> None:
    model_name, tokens, result, batch_size = argv[:4]
    device, dtype = argv[4] if len(argv) > 4 else "cpu", argv[5] if len(argv) > 5 else "float32"
    torch.save(measure_limit(model_name, Path(tokens), int(batch_size), device, dtype), result)


if __name__ == "__main__":
    main(sys.argv[1:])
