"""Base class of pruning-method callbacks: own the statistics hooks of one decoder block at a time."""

from __future__ import annotations

import logging
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from typing_extensions import override

from calibprune.callbacks.block_callback import BlockCallback
from calibprune.callbacks.layer_sparsity import LayerSparsity, LayerSparsityOptions
from calibprune.engine.magnitude import magnitude_mask
from calibprune.engine.sparsity import SparsityPattern, resolve_pattern
from calibprune.errors import OptionError
from calibprune.modeling.capture import BlockInputs
from calibprune.modeling.plan import PruningPlan
from calibprune.modeling.prunable import PrunableWeight
from calibprune.modeling.targets import Selection

log = logging.getLogger(__name__)


class PruningMethod(BlockCallback):
    """Prunes the weight matrices of each decoder block; subclasses say how.

    The :class:`~calibprune.prune.pipeline.PruningPipeline` builds the :class:`~calibprune.modeling.plan.PruningPlan`
    (every block's matrices, filtered by ``targets``/``ignore``), calls :meth:`prepare` once, then, for every
    decoder block in order, :meth:`on_block_start` (attach statistics hooks), runs the calibration activations
    through the block, then :meth:`on_block_end` (reduce statistics across ranks, prune, remove hooks). The hooks'
    second argument is that pipeline (its ``collectives`` reduce the statistics).

    Args:
        sparsity_ratio: fraction of weights pruned in every matrix, in [0, 1) (default 0.5; with ``N:M`` it is
            N/M, and a different explicit value is an error).
        sparsity_type: ``unstructured`` or ``N:M`` (e.g. ``2:4``, ``4:8``: N pruned in every M consecutive
            input weights of a row; the ratio is then N/M).
        count_padding: count padded positions in the statistics, as the seed repo did (off: padding is
            excluded through the attention mask).
        targets: patterns of the matrices to prune (default: all); ``re:REGEX`` or a glob on the full name.
        ignore: patterns of matrices left dense, e.g. ``[re:.*self_attn, model.layers.0.*]``.
        layer_sparsity: one sparsity ratio per decoder block (their mean replaces ``sparsity_ratio``).
        owl: OWL's outlier-weighted block ratios (Yin et al., 2024), mean ``sparsity_ratio``.
        owl_m: OWL's outlier threshold M: scores above M times the block's mean Wanda score are outliers.
        owl_lambda: OWL's lambda: the block ratios spread over 2 lambda around ``sparsity_ratio``.
    """

    needs_calibration = True

    def __init__(
        self,
        sparsity_ratio: float | None = None,
        sparsity_type: str = "unstructured",
        count_padding: bool = False,
        targets: list[str] | None = None,
        ignore: list[str] | None = None,
        layer_sparsity: list[float] | None = None,
        owl: bool = False,
        owl_m: float = 5.0,
        owl_lambda: float = 0.08,
    ) -> None:
        if owl and not self.needs_calibration:
            raise OptionError("owl", f"needs calibration statistics; {type(self).__name__} reads none", "false")
        self.pattern = resolve_pattern(sparsity_type, sparsity_ratio)
        self.count_padding = count_padding
        self.selection = Selection(targets or [], ignore or [])
        explicit = sparsity_ratio is not None
        ratios = LayerSparsityOptions(layer_sparsity, owl, owl_m, owl_lambda)
        self.block_sparsity = LayerSparsity(self.pattern, explicit, ratios)
        if layer_sparsity is not None:
            self.pattern = SparsityPattern(ratio=sum(layer_sparsity) / len(layer_sparsity))
        self.options = {
            "targets": self.selection.targets,
            "ignore": self.selection.ignore,
            **self.block_sparsity.options(),
        }
        self.magnitude_fallback: list[str] = []
        self._active_pattern = self.pattern
        self._handles: list = []
        self._accumulators: dict[str, Any] = {}
        self._seen: list[tuple[torch.Tensor, Any]] = []
        self._token_mask: torch.Tensor | None = None  # the real tokens of the batch running (on_block_batch_start)
        self._prefix = ""

    def prepare(self, pipeline: Any, plan: PruningPlan) -> None:
        """Called once before the first block: fix every block's sparsity ratio (OWL reads the dense model).

        Args:
            pipeline: the :class:`~calibprune.prune.pipeline.PruningPipeline` about to run.
            plan: the matrices to prune.
        """
        self.magnitude_fallback = []
        self.block_sparsity.prepare(pipeline, plan, self.count_padding)

    @property
    def active_pattern(self) -> SparsityPattern:
        """The sparsity pattern of the block being pruned (its own ratio with OWL or a per-block list)."""
        return self._active_pattern

    def block_pattern(self, index: int) -> SparsityPattern:
        """The sparsity pattern of decoder block ``index``."""
        return self.block_sparsity.pattern_of(index)

    def report(self) -> dict[str, Any]:
        """Method facts for the sparsity report: block ratios, experts pruned by magnitude for lack of tokens."""
        entry = self.block_sparsity.report()
        if self.magnitude_fallback:
            entry["magnitude_fallback"] = list(self.magnitude_fallback)
        return entry

    # ---- statistics -------------------------------------------------------------------------------------------
    @property
    def statistics(self) -> dict[str, Any]:
        """The statistics of the block being calibrated, by matrix name (matrices reading one input share one).

        Each has ``sum`` and ``tokens`` (fp32/fp64 tensors on the device) and its method's reads
        (``norms()`` for Wanda, ``hessian()`` for SparseGPT). Empty between blocks.
        """
        return dict(self._accumulators)

    def new_accumulator(self, layer: PrunableWeight) -> Any:
        """A fresh fp32 statistics accumulator for ``layer`` (methods that calibrate must override)."""
        raise NotImplementedError

    def _hook(self, name: str, layer: PrunableWeight):
        def hook(inputs: torch.Tensor, mask: torch.Tensor | None) -> None:
            for seen_input, accumulator in self._seen:
                if seen_input is inputs:  # q/k/v (gate/up) read the same tensor: one set of statistics
                    self._accumulators.setdefault(name, accumulator)
                    return
            accumulator = self._accumulators.get(name)
            if accumulator is None:
                accumulator = self._accumulators[name] = self.new_accumulator(layer)
            accumulator.update(inputs.detach(), mask)
            self._seen.append((inputs, accumulator))

        return hook

    @override
    def on_block_start(self, trainer: pl.Trainer, pipeline: Any, index: int, layers: dict[str, PrunableWeight]) -> None:
        """Check the matrices fit the pattern and attach one statistics hook (on the input) per matrix."""
        for name, layer in layers.items():
            self.pattern.check_width(layer.in_features, name)
        self._accumulators = {}
        self._prefix = f"{getattr(pipeline, 'blocks_path', 'block')}.{index}."
        if self.needs_calibration:

            def mask() -> torch.Tensor | None:
                return None if self.count_padding else self._token_mask

            self._handles = [layer.register_input_hook(self._hook(name, layer), mask) for name, layer in layers.items()]

    @override
    def on_block_batch_start(self, trainer: pl.Trainer, pipeline: Any, index: int, batch: BlockInputs) -> None:
        """Count only the real tokens of this batch (its padding mask; none when the host knows it has no padding)."""
        self._token_mask = batch.statistics_mask

    @override
    def on_block_batch_end(self, trainer: pl.Trainer, pipeline: Any, index: int) -> None:
        """Forget the batch just run: its mask, and its input tensors (they identify shared inputs within it)."""
        self._seen = []
        self._token_mask = None

    @override
    def on_block_end(self, trainer: pl.Trainer, pipeline: Any, index: int, layers: dict[str, PrunableWeight]) -> None:
        """Remove hooks, reduce statistics across ranks once, and prune every matrix of the block in place.

        A matrix whose statistics saw no token (an expert no calibration token was routed to) is pruned by
        magnitude instead, logged and listed in the report under ``magnitude_fallback``. The token counts of all
        the block's statistics are read from the device at once.
        """
        self.remove_hooks()
        shared = list({id(accumulator): accumulator for accumulator in self._accumulators.values()}.values())
        for accumulator in shared:
            accumulator.sum = pipeline.collectives.reduce(accumulator.sum, "sum")
            accumulator.tokens = pipeline.collectives.reduce(accumulator.tokens, "sum")
        pattern = self.block_pattern(index)
        calibrated = dict(layers)
        if self.needs_calibration:
            counts = torch.stack([accumulator.tokens for accumulator in shared]).tolist() if shared else []
            seen = {id(accumulator) for accumulator, count in zip(shared, counts, strict=True) if count > 0}
            unseen = [n for n in layers if n not in self._accumulators or id(self._accumulators[n]) not in seen]
            for name in unseen:
                log.warning("%s%s: no calibration token reached it; pruned by magnitude", self._prefix, name)
                self.apply_mask(layers[name], magnitude_mask(layers[name].weight, pattern))
                self.magnitude_fallback.append(self._prefix + name)
                del calibrated[name]
        if calibrated:
            self._active_pattern = pattern
            self.prune_block(calibrated, self._accumulators)
        self._accumulators = {}

    def prune_block(self, layers: dict[str, PrunableWeight], statistics: dict[str, Any]) -> None:
        """Prune the block's matrices in place to :attr:`active_pattern` given their (shared) input statistics."""
        raise NotImplementedError

    def remove_hooks(self) -> None:
        """Remove every hook this callback attached."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._seen = []

    @override
    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self.remove_hooks()

    @staticmethod
    def apply_mask(layer: PrunableWeight, mask: torch.Tensor, weight: torch.Tensor | None = None) -> None:
        """Write ``weight`` (default: the current one) into ``layer`` with the masked entries set to zero.

        In place, through the matrix's ``[out, in]`` view of its parameter: the pruned weights take the dense
        ones' memory (no second copy of the model, also when the dense weights are pages of a memory-mapped
        checkpoint), whatever the container (Linear, transposed Conv1D, one expert of a fused tensor).
        """
        target = layer.weight
        if weight is not None:
            target.copy_(weight)
        target.masked_fill_(mask.to(target.device), 0)


def find_pruning_method(callbacks: list[Callback]) -> PruningMethod:
    """The one :class:`PruningMethod` among a trainer's callbacks.

    Raises:
        OptionError: naming ``method``, with the shipped methods.
    """
    from calibprune.callbacks.registry import method_names

    methods = [cb for cb in callbacks if isinstance(cb, PruningMethod)]
    if len(methods) != 1:
        raise OptionError("method", f"exactly one pruning method is needed, got {len(methods)}", method_names())
    return methods[0]
