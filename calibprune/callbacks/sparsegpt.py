"""SparseGPT callback: collects one Hessian per distinct layer input and prunes with OBS updates."""

from __future__ import annotations

import math
from typing import Any

import torch
from typing_extensions import override

from calibprune.callbacks.base import PruningMethod
from calibprune.engine.gram import GRAM_PRECISIONS
from calibprune.engine.sparsegpt import sparsegpt_prune, sparsegpt_solve
from calibprune.engine.statistics import HessianAccumulator
from calibprune.errors import OptionError
from calibprune.modeling.prunable import PrunableWeight


class SparseGPT(PruningMethod):
    """Prune with SparseGPT (Frantar & Alistarh, 2023): mask and weight update from the inverse Hessian.

    Layers that read the same input (q/k/v, gate/up) share one Hessian and are solved together with
    their rows stacked; each keeps its own mask choice, so the result equals pruning them one by one.

    Args:
        blocksize: columns pruned together between lazy OBS updates.
        percdamp: Hessian damping as a fraction of its mean diagonal.
        hessian_precision: precision of the calibration inputs in the ``X^T X`` products, summed in fp32
            either way: ``float32`` (exact; a bf16/fp16 model's activations are exact in it and run on the
            GPU's tensor cores) or ``bfloat16`` (fp32 activations rounded to bf16 first: tensor-core speed on a
            GPU for fp32 models, the same rounding and no gain on a CPU; measured in the README).
        *args: the options every method shares, in :class:`~calibprune.callbacks.base.PruningMethod`'s order
            (``SparseGPT(0.5)``), or by name in ``**kwargs``.
        **kwargs: the options every method shares (:class:`~calibprune.callbacks.base.PruningMethod`).
    """

    def __init__(
        self,
        *args: Any,
        blocksize: int = 128,
        percdamp: float = 0.01,
        hessian_precision: str = "float32",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(blocksize, bool) or not isinstance(blocksize, int) or not 0 < blocksize <= 2**20:
            raise OptionError("blocksize", f"must be a positive integer, got {blocksize!r}", "e.g. 128")
        if isinstance(percdamp, bool) or not isinstance(percdamp, (int, float)) or not 0 <= percdamp < math.inf:
            raise OptionError("percdamp", f"must be a finite number >= 0, got {percdamp!r}", "e.g. 0.01")
        if hessian_precision not in GRAM_PRECISIONS:
            raise OptionError("hessian_precision", f"unknown {hessian_precision!r}", ", ".join(GRAM_PRECISIONS))
        self.blocksize = blocksize
        self.percdamp = percdamp
        self.hessian_precision = hessian_precision

    @override
    def new_accumulator(self, layer: PrunableWeight) -> HessianAccumulator:
        return HessianAccumulator(layer.in_features, layer.weight.device, self.hessian_precision)

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
