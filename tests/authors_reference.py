"""The authors' RIA and DSnoT code, cut down to one layer, kept line by line as they wrote it (CUDA calls removed).

RIA: biomedical-cybernetics/Relative-importance-and-activation-pruning ``lib/prune.py`` (``prune_ria``) and
``lib/layerwrapper.py``. DSnoT: zyxxmu/DSnoT ``lib/prune.py`` (``prune_DSnoT``, ``return_reorder_indice``) and
``lib/layerwrapper.py``. One fix, marked: DSnoT's wrapper never adds to ``H`` (its ``sparsegpt`` initial method
then sees a zero Hessian and zero weights), so ``add_batch`` here accumulates it as SparseGPT's ``add_batch`` does.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import torch


class WrappedGPT:
    """Both wrappers in one: RIA's ``scaler_row``; DSnoT's ``scaler_row``, ``sum_metric_row``, ``mean``, ``var``."""

    def __init__(self, layer, initial_method=None):
        self.layer = layer
        self.dev = self.layer.weight.device
        self.rows = layer.weight.data.shape[0]
        self.columns = layer.weight.data.shape[1]
        self.nsamples = 0
        self.initial_method = initial_method
        if self.initial_method == "sparsegpt":
            self.H = torch.zeros((self.columns, self.columns), device=self.dev)
        self.scaler_row = torch.zeros((self.columns), device=self.dev)
        self.sum_metric_row = torch.zeros((self.columns), device=self.dev)
        self.mean = torch.zeros((self.columns), device=self.dev)
        self.var = torch.zeros((self.columns), device=self.dev)
        self.ntokens = 0

    def add_batch(self, inp, out=None):
        if len(inp.shape) == 2:
            inp = inp.unsqueeze(0)
        tmp = inp.shape[0]
        if len(inp.shape) == 3:
            inp = inp.reshape((-1, inp.shape[-1]))
        inp = inp.t()
        inp = inp.type(torch.float32)

        mean_inp = torch.mean(inp, dim=1, keepdim=True)

        var_inp = torch.var(inp, dim=1, unbiased=False, keepdim=True)
        num_inp = inp.shape[1]
        self.var = (
            var_inp if self.ntokens == 0 else (self.var * self.ntokens + var_inp * num_inp) / (self.ntokens + num_inp)
        )
        self.mean = (
            mean_inp
            if self.ntokens == 0
            else (self.mean * self.ntokens + mean_inp * num_inp) / (self.ntokens + num_inp)
        )
        self.ntokens += num_inp

        if self.initial_method == "sparsegpt":  # the fix: SparseGPT's add_batch (absent from DSnoT's wrapper)
            self.H *= self.nsamples / (self.nsamples + tmp)
        self.scaler_row *= self.nsamples / (self.nsamples + tmp)
        self.sum_metric_row *= self.nsamples / (self.nsamples + tmp)
        self.nsamples += tmp

        self.scaler_row += torch.norm(inp, p=2, dim=1) ** 2 / self.nsamples
        self.sum_metric_row += torch.sum(inp, dim=1) / self.nsamples
        if self.initial_method == "sparsegpt":
            scaled = math.sqrt(2 / self.nsamples) * inp.float()
            self.H += scaled.matmul(scaled.t())


# ---- RIA ----------------------------------------------------------------------------------------------------------
def ria_mask(W, scaler_row, sparsity_ratio, prune_n=0, prune_m=0, a=0.5, per_outneuron=False):
    """The mask of ``prune_ria`` (``--prune_method ria``, no reallocation, reconstruction or GPTQ)."""
    W_metric = (
        torch.abs(W) / torch.sum(torch.abs(W), dim=0) + torch.abs(W) / torch.sum(torch.abs(W), dim=1).reshape(-1, 1)
    ) * (torch.sqrt(scaler_row.reshape((1, -1)))) ** a
    W_mask = torch.zeros_like(W_metric) == 1  ## initialize a mask to be all False
    if prune_n != 0:
        W_mask = torch.zeros_like(W_metric) == 1
        for ii in range(W_metric.shape[1]):
            if ii % prune_m == 0:
                tmp = W_metric[:, ii : (ii + prune_m)].float()
                W_mask.scatter_(1, ii + torch.topk(tmp, prune_n, dim=1, largest=False)[1], True)
    else:
        if per_outneuron:
            sort_res = torch.sort(W_metric, dim=-1, stable=True)
            # unstructured pruning
            indices = sort_res[1][:, : int(W_metric.shape[1] * sparsity_ratio)]
            W_mask.scatter_(1, indices, True)
        else:
            thresh = torch.sort(W_metric.flatten())[0][int(W.shape[0] * W.shape[1] * sparsity_ratio)]
            W_mask = W_metric <= thresh
    return W_mask


# ---- DSnoT --------------------------------------------------------------------------------------------------------
DSNOT_DEFAULTS = dict(
    max_cycle_time=50,
    update_threshold=0.1,
    pow_of_var_regrowing=1,
    skip_layer="mlp",
    skip_sub_layer="no_skip",
    without_same_sign=True,
    without_DSnoT=False,
)


def dsnot_args(sparsity_ratio=0.5, initial_method="wanda", **overrides):
    return SimpleNamespace(
        sparsity_ratio=sparsity_ratio, initial_method=initial_method, **{**DSNOT_DEFAULTS, **overrides}
    )


def return_reorder_indice(input_tensor):
    positive_tensor = input_tensor.clone()
    negative_tensor = input_tensor.clone()

    positive_mask = positive_tensor > 0
    negative_mask = negative_tensor < 0

    positive_indices = (
        torch.arange(0, input_tensor.shape[1], device=input_tensor.device)
        .to(torch.float64)
        .repeat(input_tensor.shape[0], 1)
    )
    negative_indices = (
        torch.arange(0, input_tensor.shape[1], device=input_tensor.device)
        .to(torch.float64)
        .repeat(input_tensor.shape[0], 1)
    )

    positive_indices[~positive_mask] = float("inf")
    negative_indices[~negative_mask] = float("inf")

    positive_value, _ = torch.sort(positive_indices, dim=1)
    negative_value, _ = torch.sort(negative_indices, dim=1)

    positive_value = torch.flip(positive_value, dims=[1])

    negative_value[negative_value == float("inf")] = 0
    positive_value[positive_value == float("inf")] = 0

    reorder_indice = (positive_value + negative_value).to(torch.int64)

    return reorder_indice


def _initial_metric(args, weight, wrapped):
    if args.initial_method == "wanda":
        return torch.abs(weight) * torch.sqrt(wrapped.scaler_row.reshape((1, -1)))
    if args.initial_method == "magnitude":
        return torch.abs(weight)
    W = weight.clone().float()
    H = wrapped.H
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    percdamp = 0.01
    damp = percdamp * torch.mean(torch.diag(H))
    diag = torch.arange(wrapped.columns, device=wrapped.dev)
    H[diag, diag] += damp
    H = torch.linalg.cholesky(H)
    H = torch.cholesky_inverse(H)
    H = torch.linalg.cholesky(H, upper=True)
    Hinv = H
    return W**2 / (torch.diag(Hinv).reshape((1, -1))) ** 2


def dsnot_mask(args, name, weight, wrapped, prune_n=0, prune_m=0):
    """``weight_mask`` of ``prune_DSnoT`` for the layer ``name`` (e.g. ``self_attn.q_proj``)."""
    DSnoT_metric = weight * wrapped.sum_metric_row.reshape((1, -1))
    initial_metric = _initial_metric(args, weight, wrapped)
    weight_mask = torch.zeros_like(initial_metric) == 1
    parts = name.split(".")
    skipped = parts[0] == args.skip_layer or (len(parts) > 1 and parts[1] == args.skip_sub_layer)
    if prune_n != 0:
        if skipped:
            for ii in range(initial_metric.shape[1]):
                if ii % prune_m == 0:
                    tmp = initial_metric[:, ii : (ii + prune_m)].float()
                    weight_mask.scatter_(1, ii + torch.topk(tmp, prune_n, dim=1, largest=False)[1], True)
        else:
            _dsnot_n_m(args, weight_mask, DSnoT_metric, initial_metric, wrapped, prune_n, prune_m)
    else:
        _dsnot_unstructured(args, weight_mask, DSnoT_metric, initial_metric, weight, wrapped, skipped)
    return weight_mask


def _dsnot_n_m(args, weight_mask, DSnoT_metric, initial_metric, wrapped, prune_n, prune_m):
    initial_prune_indices = torch.zeros((initial_metric.shape[0], 0), dtype=torch.int64)
    initial_res_indices = torch.zeros((initial_metric.shape[0], 0), dtype=torch.int64)

    for ii in range(initial_metric.shape[1]):
        if ii % prune_m == 0:
            tmp = initial_metric[:, ii : (ii + prune_m)].float()
            _, tmp_all_indices = torch.sort(tmp, dim=1)
            tmp_all_indices += ii
            res_prune_n = prune_m - prune_n
            tmp_indices, tmp_res_indices = torch.split(
                tmp_all_indices, split_size_or_sections=[prune_n, res_prune_n], dim=1
            )
            initial_prune_indices = torch.cat((initial_prune_indices, tmp_indices), dim=1)
            initial_res_indices = torch.cat((initial_res_indices, tmp_res_indices), dim=1)
            weight_mask.scatter_(1, tmp_indices, True)

    metric_for_regrowing = DSnoT_metric.clone()
    metric_for_regrowing.scatter_(1, initial_res_indices, 0)
    reconstruction_error = torch.sum(metric_for_regrowing, dim=1, keepdim=True)
    initialize_error_sign = torch.sign(reconstruction_error)
    if args.pow_of_var_regrowing:
        metric_for_regrowing /= torch.pow(wrapped.var.reshape((1, -1)), args.pow_of_var_regrowing)
    _, regrowing_indices_block = torch.sort(metric_for_regrowing, dim=1, stable=True)

    indice_indice_list_for_regrowing = torch.zeros((reconstruction_error.shape[0], 2), dtype=torch.long)
    last_one = regrowing_indices_block.shape[-1] - 1
    indice_indice_list_for_regrowing[:, 1] = last_one
    update_num_for_regrowing = torch.ones((reconstruction_error.shape[0], 2), dtype=torch.long)
    update_num_for_regrowing[:, 1] = -1

    initial_metric.scatter_(1, initial_prune_indices, float("inf"))
    W_metric_max_value = torch.max(initial_metric, dim=1, keepdim=True)[0] + 1

    cycle_time = 1
    update_mask = torch.ones_like(reconstruction_error, dtype=torch.bool)
    while not (torch.all(update_mask == False) or cycle_time > args.max_cycle_time):  # noqa: E712
        cycle_time += 1

        # regrowing
        indice_of_indice_indice_list_for_regrowing = (reconstruction_error > 0).int().to(torch.int64)
        indice_indice_for_regrowing = torch.gather(
            indice_indice_list_for_regrowing, 1, indice_of_indice_indice_list_for_regrowing
        )
        regrowing_indice = torch.gather(regrowing_indices_block, 1, indice_indice_for_regrowing.to(torch.int64))
        regrowing_metric = DSnoT_metric.gather(1, regrowing_indice.to(torch.int64))
        recover_block_start_indice = regrowing_indice - regrowing_indice % prune_m
        recover_block_indices = (
            torch.arange(0, prune_m).repeat(recover_block_start_indice.shape[1], 1) + recover_block_start_indice
        )
        pruning_block = torch.gather(initial_metric, 1, recover_block_indices.to(torch.int64))
        pruning_wanda_metric, pruning_indice = torch.topk(pruning_block, 1, dim=1, largest=False)
        pruning_indice += recover_block_start_indice
        pruning_metric = DSnoT_metric.gather(1, pruning_indice.to(torch.int64))

        reconstruction_error_after = reconstruction_error + pruning_metric - regrowing_metric
        update_mask = (
            update_mask
            & (initialize_error_sign == torch.sign(reconstruction_error_after))
            & (abs(reconstruction_error) > args.update_threshold)
        )
        initial_metric.scatter_(1, pruning_indice, W_metric_max_value)
        weight_mask.scatter_(1, pruning_indice, update_mask)
        weight_mask.scatter_(1, regrowing_indice, ~update_mask)
        reconstruction_error += torch.where(update_mask, pruning_metric, torch.zeros_like(pruning_metric))
        reconstruction_error -= torch.where(update_mask, regrowing_metric, torch.zeros_like(regrowing_metric))
        indice_indice_list_for_regrowing.scatter_(
            1,
            indice_of_indice_indice_list_for_regrowing,
            indice_indice_for_regrowing
            + update_num_for_regrowing.gather(1, indice_of_indice_indice_list_for_regrowing),
        )


def _dsnot_unstructured(args, weight_mask, DSnoT_metric, initial_metric, weight, wrapped, skipped):
    _, sorted_initial_indice = torch.sort(initial_metric, dim=-1, stable=True)
    sparsity_num = int(initial_metric.shape[1] * args.sparsity_ratio)
    res_sparsity_num = sorted_initial_indice.shape[1] - sparsity_num
    initial_prune_indices, initial_res_indices = torch.split(
        sorted_initial_indice, split_size_or_sections=[sparsity_num, res_sparsity_num], dim=1
    )
    if skipped or args.without_DSnoT:
        weight_mask.scatter_(1, initial_prune_indices, True)
        return
    weight_mask.scatter_(1, initial_prune_indices, True)

    metric_for_regrowing = DSnoT_metric.clone()
    wanda_metric = torch.abs(weight) * torch.sqrt(wrapped.scaler_row.reshape((1, -1)))
    metric_for_regrowing.scatter_(1, initial_res_indices, 0)
    reconstruction_error = torch.sum(metric_for_regrowing, dim=1, keepdim=True)
    initialize_error_sign = torch.sign(reconstruction_error)
    if args.pow_of_var_regrowing:
        metric_for_regrowing /= torch.pow(wrapped.var.reshape((1, -1)), args.pow_of_var_regrowing)
    _, regrowing_indices_block = torch.sort(metric_for_regrowing, dim=1, stable=True)

    wanda_metric.scatter_(1, initial_prune_indices, float("inf"))
    wanda_res_indices, _ = torch.split(
        torch.sort(wanda_metric, dim=1, stable=True)[1],
        split_size_or_sections=[res_sparsity_num, sparsity_num],
        dim=1,
    )
    reorder_indice_of_pruning_indice = return_reorder_indice(torch.gather(DSnoT_metric, 1, wanda_res_indices))
    pruning_indices_block = torch.gather(wanda_res_indices, 1, reorder_indice_of_pruning_indice)

    rows = reconstruction_error.shape[0]
    indice_indice_list_for_regrowing = torch.zeros((rows, 2), dtype=torch.long)
    indice_indice_list_for_regrowing[:, 1] = regrowing_indices_block.shape[-1] - 1
    update_num_for_regrowing = torch.ones((rows, 2), dtype=torch.long)
    update_num_for_regrowing[:, 1] = -1
    indice_indice_list_for_pruning = torch.zeros((rows, 2), dtype=torch.long)
    indice_indice_list_for_pruning[:, 1] = pruning_indices_block.shape[-1] - 1
    update_num_for_pruning = torch.ones((rows, 2), dtype=torch.long)
    update_num_for_pruning[:, 1] = -1

    update_mask = torch.ones_like(reconstruction_error, dtype=torch.bool)
    cycle_time = 0
    while not (torch.all(update_mask == False) or cycle_time >= args.max_cycle_time):  # noqa: E712
        cycle_time += 1

        # regrowing
        indice_of_indice_indice_list_for_regrowing = (reconstruction_error > 0).int().to(torch.int64)
        indice_indice_for_regrowing = torch.gather(
            indice_indice_list_for_regrowing, 1, indice_of_indice_indice_list_for_regrowing
        )
        regrowing_indice = torch.gather(regrowing_indices_block, 1, indice_indice_for_regrowing.to(torch.int64))
        regrowing_metric = DSnoT_metric.gather(1, regrowing_indice.to(torch.int64))
        indice_indice_list_for_regrowing.scatter_(
            1,
            indice_of_indice_indice_list_for_regrowing,
            indice_indice_for_regrowing
            + update_num_for_regrowing.gather(1, indice_of_indice_indice_list_for_regrowing),
        )

        # pruning
        indice_of_indice_indice_list_for_pruning = (reconstruction_error < 0).int().to(torch.int64)
        indice_indice_for_pruning = torch.gather(
            indice_indice_list_for_pruning, 1, indice_of_indice_indice_list_for_pruning
        )
        pruning_indice = torch.gather(pruning_indices_block, 1, indice_indice_for_pruning.to(torch.int64))
        pruning_metric = DSnoT_metric.gather(1, pruning_indice.to(torch.int64))
        indice_indice_list_for_pruning.scatter_(
            1,
            indice_of_indice_indice_list_for_pruning,
            indice_indice_for_pruning + update_num_for_pruning.gather(1, indice_of_indice_indice_list_for_pruning),
        )

        # change mask
        reconstruction_error_after = reconstruction_error + pruning_metric - regrowing_metric
        if args.without_same_sign:
            update_mask = update_mask & (abs(reconstruction_error) > args.update_threshold)
        else:
            update_mask = (
                update_mask
                & (abs(reconstruction_error) > args.update_threshold)
                & (initialize_error_sign == torch.sign(reconstruction_error_after))
            )
        weight_mask.scatter_(1, pruning_indice, update_mask)
        weight_mask.scatter_(1, regrowing_indice, ~update_mask)
        reconstruction_error += torch.where(update_mask, pruning_metric, torch.zeros_like(pruning_metric))
        reconstruction_error -= torch.where(update_mask, regrowing_metric, torch.zeros_like(regrowing_metric))
