"""SparseGPT callback: collects one Hessian per distinct layer input and prunes with OBS updates."""

from __future__ import annotations

import torch
from typing_extensions import override

from calibprune.callbacks.base import PruningMethod
from calibprune.engine.sparsegpt import sparsegpt_prune, sparsegpt_solve
from calibprune.engine.statistics import HessianAccumulator
from calibprune.modeling.prunable import PrunableWeight


class SparseGPT(PruningMethod):
    """Prune with SparseGPT (Frantar & Alistarh, 2023): mask and weight update from the inverse Hessian.

    Layers that read the same input (q/k/v, gate/up) share one Hessian and are solved together with
    their rows stacked; each keeps its own mask choice, so the result equals pruning them one by one.

    Args:
        sparsity_ratio: fraction of weights pruned in every matrix, in [0, 1) (default 0.5; N/M with N:M).
        sparsity_type: ``unstructured`` or ``N:M`` (e.g. ``2:4``, ``4:8``).
        count_padding: count padded positions in the Hessian, as the seed repo did.
        blocksize: columns pruned together between lazy OBS updates.
        percdamp: Hessian damping as a fraction of its mean diagonal.
        targets: patterns of the matrices to prune (default: all); ``re:REGEX`` or a glob on the full name.
        ignore: patterns of matrices left dense, e.g. ``[re:.*self_attn, model.layers.0.*]``.
        layer_sparsity: one sparsity ratio per decoder block (their mean replaces ``sparsity_ratio``).
        owl: OWL's outlier-weighted block ratios (Yin et al., 2024), mean ``sparsity_ratio``.
        owl_m: OWL's outlier threshold M: scores above M times the block's mean Wanda score are outliers.
        owl_lambda: OWL's lambda: the block ratios spread over 2 lambda around ``sparsity_ratio``.
    """

    def __init__(
        self,
        sparsity_ratio: float | None = None,
        sparsity_type: str = "unstructured",
        count_padding: bool = False,
        blocksize: int = 128,
        percdamp: float = 0.01,
        targets: list[str] | None = None,
        ignore: list[str] | None = None,
        layer_sparsity: list[float] | None = None,
        owl: bool = False,
        owl_m: float = 5.0,
        owl_lambda: float = 0.08,
    ) -> None:
        super().__init__(
            sparsity_ratio, sparsity_type, count_padding, targets, ignore, layer_sparsity, owl, owl_m, owl_lambda
        )
        if blocksize <= 0:
            raise ValueError(f"--blocksize must be a positive integer, got {blocksize}")
        if not 0 <= percdamp:
            raise ValueError(f"--percdamp must be >= 0, got {percdamp}")
        self.blocksize = blocksize
        self.percdamp = percdamp

    @override
    def new_accumulator(self, layer: PrunableWeight) -> HessianAccumulator:
        return HessianAccumulator(layer.in_features, device=layer.weight.device)

    @override
    def prune_block(self, layers: dict[str, PrunableWeight], statistics: dict[str, HessianAccumulator]) -> None:
        """Solve every group of layers sharing an input, then check all their factorisations at once.

        The solver reads nothing back from the device; a group whose damped Hessian was not positive
        definite comes back unchanged, and only then (one check per block) is it solved again with the
        retries of larger damping.
        """
        groups: dict[int, list[str]] = {}
        for name in layers:
            groups.setdefault(id(statistics[name]), []).append(name)
        infos = []
        for names in groups.values():
            pruned, mask, info = sparsegpt_solve(*self._problem(layers, names, statistics[names[0]].hessian()))
            self._write(layers, names, pruned, mask)
            infos.append(info)
        if bool(torch.stack(infos).any()):  # the block's one host synchronisation
            for names, info in zip(groups.values(), infos, strict=True):
                if int(info):
                    hessian = statistics[names[0]].hessian()
                    self._write(layers, names, *sparsegpt_prune(*self._problem(layers, names, hessian)))

    def _problem(self, layers: dict[str, PrunableWeight], names: list[str], hessian: torch.Tensor) -> tuple:
        """The solver's arguments for the layers ``names``, their weights stacked by rows (fp32)."""
        weights = [layers[name].weight for name in names]
        stacked = torch.cat([w.detach().to(hessian.device, torch.float32) for w in weights])
        sizes = [w.shape[0] for w in weights]
        return stacked, hessian, self.active_pattern, self.blocksize, self.percdamp, sizes

    def _write(
        self, layers: dict[str, PrunableWeight], names: list[str], pruned: torch.Tensor, mask: torch.Tensor
    ) -> None:
        """Write the stacked solution back into each layer, in place."""
        sizes = [layers[name].weight.shape[0] for name in names]
        for name, new, part in zip(names, pruned.split(sizes), mask.split(sizes), strict=True):
            self.apply_mask(layers[name], part, new)
