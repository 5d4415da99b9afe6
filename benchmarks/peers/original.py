"""The original Wanda and SparseGPT code: locuslab/wanda ``lib/prune.py``, ``layerwrapper.py``, ``sparsegpt.py``.

Re-written minimally from locuslab/wanda (commit 8e8fc87), whose SparseGPT code is IST-DASLab/sparsegpt at
f5c25005. Both are under the MIT licence:

    MIT License. Copyright (c) 2023 CMU Locus Lab (locuslab/wanda);
    Copyright (c) 2023 IST Austria Distributed Algorithms and Systems Lab (IST-DASLab/sparsegpt).
    Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
    documentation files (the "Software"), to deal in the Software without restriction, including without
    limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the
    Software, and to permit persons to whom the Software is furnished to do so, subject to the following
    conditions: The above copyright notice and this permission notice shall be included in all copies or
    substantial portions of the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.

What changed, and only this: the calibration tokens come from a tensor instead of ``get_loaders("c4")``; the
Catcher keeps every keyword argument of block 0 (transformers 5 blocks need ``position_embeddings``, which the
original, passing only ``attention_mask`` and ``position_ids``, does not give); a block returning a tensor
instead of a tuple is accepted; prints, device maps and the ablation code are left out (one device, as the
original's single-GPU path: the model, the block inputs and the statistics on it). The
maths (running averages per sample, stable sort, ``<= thresh`` per 128-column block, damping 0.01, Cholesky
inverse, column-by-column OBS updates) is the original's.

Run by ``benchmarks/peers/run.py`` as a script, in the peers' virtual environment::

    python benchmarks/peers/original.py wanda MODEL_DIR TOKENS WIKITEXT RESULT [DEVICE [DTYPE]]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import device_and_dtype, measure, optional_path  # noqa: E402


def find_layers(module, layers=(nn.Linear,), name=""):
    if type(module) in layers:
        return {name: module}
    res = {}
    for name1, child in module.named_children():
        res.update(find_layers(child, layers=layers, name=name + "." + name1 if name != "" else name1))
    return res


class WrappedGPT:
    """Wanda's running average of squared input norms (``scaler_row``)."""

    def __init__(self, layer):
        self.layer = layer
        self.columns = layer.weight.data.shape[1]
        self.scaler_row = torch.zeros((self.columns), device=layer.weight.device)
        self.nsamples = 0

    def add_batch(self, inp, out):
        if len(inp.shape) == 2:
            inp = inp.unsqueeze(0)
        tmp = inp.shape[0]
        if len(inp.shape) == 3:
            inp = inp.reshape((-1, inp.shape[-1]))
        inp = inp.t()
        self.scaler_row *= self.nsamples / (self.nsamples + tmp)
        self.nsamples += tmp
        inp = inp.type(torch.float32)
        self.scaler_row += torch.norm(inp, p=2, dim=1) ** 2 / self.nsamples


class SparseGPT:
    """SparseGPT's Hessian accumulator and ``fasterprune`` solver (unstructured and N:M)."""

    def __init__(self, layer):
        self.layer = layer
        self.rows, self.columns = layer.weight.data.shape
        self.dev = layer.weight.device
        self.H = torch.zeros((self.columns, self.columns), device=self.dev)
        self.nsamples = 0

    def add_batch(self, inp, out):
        if len(inp.shape) == 2:
            inp = inp.unsqueeze(0)
        tmp = inp.shape[0]
        if len(inp.shape) == 3:
            inp = inp.reshape((-1, inp.shape[-1]))
        inp = inp.t()
        self.H *= self.nsamples / (self.nsamples + tmp)
        self.nsamples += tmp
        inp = math.sqrt(2 / self.nsamples) * inp.float()
        self.H += inp.matmul(inp.t())

    def fasterprune(self, sparsity, prune_n=0, prune_m=0, blocksize=128, percdamp=0.01):
        W = self.layer.weight.data.clone().float()
        H = self.H
        del self.H
        dead = torch.diag(H) == 0
        H[dead, dead] = 1
        W[:, dead] = 0
        damp = percdamp * torch.mean(torch.diag(H))
        diag = torch.arange(self.columns, device=self.dev)
        H[diag, diag] += damp
        H = torch.linalg.cholesky(H)
        H = torch.cholesky_inverse(H)
        Hinv = torch.linalg.cholesky(H, upper=True)
        for i1 in range(0, self.columns, blocksize):
            i2 = min(i1 + blocksize, self.columns)
            count = i2 - i1
            W1 = W[:, i1:i2].clone()
            Q1 = torch.zeros_like(W1)
            Err1 = torch.zeros_like(W1)
            Hinv1 = Hinv[i1:i2, i1:i2]
            if prune_n == 0:
                tmp = W1**2 / (torch.diag(Hinv1).reshape((1, -1))) ** 2
                thresh = torch.sort(tmp.flatten())[0][int(tmp.numel() * sparsity)]
                mask1 = tmp <= thresh
            else:
                mask1 = torch.zeros_like(W1) == 1
            for i in range(count):
                w = W1[:, i]
                d = Hinv1[i, i]
                if prune_n != 0 and i % prune_m == 0:
                    tmp = W1[:, i : (i + prune_m)] ** 2 / (torch.diag(Hinv1)[i : (i + prune_m)].reshape((1, -1))) ** 2
                    mask1.scatter_(1, i + torch.topk(tmp, prune_n, dim=1, largest=False)[1], True)
                q = w.clone()
                q[mask1[:, i]] = 0
                Q1[:, i] = q
                err1 = (w - q) / d
                W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
                Err1[:, i] = err1
            W[:, i1:i2] = Q1
            W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
        self.layer.weight.data = W.reshape(self.layer.weight.shape).to(self.layer.weight.data.dtype)


def _block_out(out):
    return out[0] if isinstance(out, (tuple, list)) else out.squeeze(0)


@torch.no_grad()
def prepare_calibration_input(model, input_ids):
    """Block 0's inputs for every sample, run one at a time (the original's ``Catcher``)."""
    layers = model.model.layers
    weight = model.model.embed_tokens.weight
    shape = (input_ids.shape[0], input_ids.shape[1], model.config.hidden_size)
    inps = torch.zeros(shape, dtype=weight.dtype, device=weight.device)
    cache = {"i": 0, "kwargs": None}

    class Catcher(nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, inp, **kwargs):
            inps[cache["i"]] = inp
            cache["i"] += 1
            cache["kwargs"] = {k: v for k, v in kwargs.items() if k not in ("past_key_values", "use_cache")}
            raise ValueError

    layers[0] = Catcher(layers[0])
    for j in range(input_ids.shape[0]):
        try:
            model(input_ids[j : j + 1], use_cache=False)
        except ValueError:
            pass
    layers[0] = layers[0].module
    return inps, torch.zeros_like(inps), cache["kwargs"]


@torch.no_grad()
def prune(model, input_ids, method, sparsity_ratio=0.5, prune_n=0, prune_m=0):
    """``prune_wanda`` / ``prune_sparsegpt`` of locuslab/wanda, one sample per forward pass."""
    nsamples = input_ids.shape[0]
    inps, outs, kwargs = prepare_calibration_input(model, input_ids)
    layers = model.model.layers
    for i in range(len(layers)):
        layer = layers[i]
        subset = find_layers(layer)
        wrapped = {name: (WrappedGPT if method == "wanda" else SparseGPT)(subset[name]) for name in subset}

        def add_batch(name, wrapped=wrapped):
            def tmp(_, inp, out):
                wrapped[name].add_batch(inp[0].data, out.data)

            return tmp  # noqa: B023 (the original's closure, bound by the default argument above)

        handles = [subset[name].register_forward_hook(add_batch(name)) for name in wrapped]
        for j in range(nsamples):
            outs[j] = _block_out(layer(inps[j].unsqueeze(0), **kwargs))
        for h in handles:
            h.remove()
        for name in subset:
            if method == "sparsegpt":
                wrapped[name].fasterprune(sparsity_ratio, prune_n, prune_m, percdamp=0.01, blocksize=128)
                continue
            W_metric = torch.abs(subset[name].weight.data) * torch.sqrt(wrapped[name].scaler_row.reshape((1, -1)))
            W_mask = torch.zeros_like(W_metric) == 1
            if prune_n != 0:
                for ii in range(W_metric.shape[1]):
                    if ii % prune_m == 0:
                        tmp = W_metric[:, ii : (ii + prune_m)].float()
                        W_mask.scatter_(1, ii + torch.topk(tmp, prune_n, dim=1, largest=False)[1], True)
            else:
                sort_res = torch.sort(W_metric, dim=-1, stable=True)
                indices = sort_res[1][:, : int(W_metric.shape[1] * sparsity_ratio)]
                W_mask.scatter_(1, indices, True)
            subset[name].weight.data[W_mask] = 0
        for j in range(nsamples):
            outs[j] = _block_out(layer(inps[j].unsqueeze(0), **kwargs))
        inps, outs = outs, inps


def main(argv: list[str]) -> None:
    import transformers

    method, model_dir, tokens, wikitext, result = argv[:5]
    device, dtype = device_and_dtype(argv[5:])
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype)).eval()
    model.to(device)
    input_ids = torch.load(tokens)["input_ids"].to(device)
    measure(
        model,
        lambda: prune(model, input_ids, method),
        optional_path(wikitext),
        Path(result),
        device,
        transformers_version=transformers.__version__,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
