"""Measure every proxy of every candidate on one loaded model: the advisor's work, timed part by part."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from calibprune.advisor.candidates import Candidate
from calibprune.advisor.probe import BlockProbe, sequence_log_probs
from calibprune.advisor.proxies.coverage import coverage_distance, effective_rank
from calibprune.advisor.proxies.lexical import moving_type_token_ratio, real_tokens, zipf_exponent
from calibprune.advisor.proxies.likelihood import min_k_percent
from calibprune.advisor.proxies.reconstruction import relative_error
from calibprune.advisor.proxies.statistics_distance import mean_distance
from calibprune.advisor.recorder import NormRecorder
from calibprune.advisor.targets import Target
from calibprune.callbacks.base import PruningMethod
from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.prune.module import PruningModule

log = logging.getLogger(__name__)

# Most real tokens of activations compared by the coverage proxy (nearest neighbours are quadratic in them).
COVERAGE_TOKENS = 2048


@dataclass
class TargetState:
    """What the proxies need of one target, computed once on the dense model.

    Attributes:
        target: the target.
        inputs: its first-block inputs, per batch.
        dense: its hidden states after the dense probed blocks, per batch.
        statistics: its per-sequence Wanda statistics in the probed blocks.
        tokens: ``[m, hidden]`` dense hidden states of (up to ``COVERAGE_TOKENS``) real tokens, and the
            sequence each comes from.
    """

    target: Target
    inputs: list[Any]
    dense: list[torch.Tensor]
    statistics: NormRecorder
    tokens: torch.Tensor
    token_rows: torch.Tensor

    @property
    def sequences(self) -> int:
        """The number of target sequences."""
        return sum(batch.hidden.shape[0] for batch in self.inputs)


@dataclass
class CandidateMeasures:
    """The raw measures of one candidate; per-target ones per sequence of the target, for resampling.

    Attributes:
        candidate: the candidate.
        reconstruction: per target, per target sequence: relative error after the pruned probed blocks.
        coverage: per target, per target token: cosine distance to the nearest candidate token.
        statistics: the candidate's Wanda statistics in the probed blocks (dense model).
        diversity: effective rank of the candidate's activations.
        lexical: moving type-token ratio of its real tokens.
        zipf: Zipf exponent of its token frequencies.
        min_k: Min-K% log-probability of its tokens under the dense model.
        timings: seconds per part (``sample``, ``dense_pass``, ``prune_probe``, ``likelihood``, ``lexical``).
    """

    candidate: Candidate
    reconstruction: dict[str, torch.Tensor] = field(default_factory=dict)
    coverage: dict[str, torch.Tensor] = field(default_factory=dict)
    statistics: NormRecorder | None = None
    diversity: float = float("nan")
    lexical: float = float("nan")
    zipf: float = float("nan")
    min_k: float = float("nan")
    timings: dict[str, float] = field(default_factory=dict)


def _real_rows(hidden: list[torch.Tensor], inputs: list[Any], limit: int, generator: torch.Generator):
    """Up to ``limit`` real-token rows of the hidden states, drawn without replacement, and their sequence."""
    rows, owners, offset = [], [], 0
    for states, batch in zip(hidden, inputs, strict=True):
        mask = batch.token_mask.bool()
        rows.append(states[mask].float().cpu())
        owners.append((torch.arange(states.shape[0])[:, None].expand_as(mask.cpu()) + offset)[mask.cpu()])
        offset += states.shape[0]
    rows, owners = torch.cat(rows), torch.cat(owners)
    if rows.shape[0] > limit:
        keep = torch.randperm(rows.shape[0], generator=generator)[:limit]
        rows, owners = rows[keep], owners[keep]
    return rows, owners


class Measurer:
    """Measures the proxies of candidates against targets on one loaded model.

    Args:
        module: the loaded model.
        trainer: the trainer whose callbacks hold the pruning method.
        method: the pruning method (its statistics hooks and masks prune the probed blocks).
        template: sizes, seed and data folder of the calibration samples.
        blocks: decoder blocks probed, from the first.
        min_k: the fraction of lowest token log-probabilities of Min-K%.
        likelihood_samples: candidate sequences the dense model scores for Min-K%.
        parts: the measuring parts to run (``lexical``, ``capture``, ``dense_pass``, ``prune_probe``,
            ``likelihood``; default: all); a proxy whose parts are skipped is not measured.
    """

    def __init__(
        self,
        module: PruningModule,
        trainer: Any,
        method: PruningMethod,
        template: CalibrationDataModule,
        blocks: int,
        min_k: float = 0.2,
        likelihood_samples: int = 4,
        parts: frozenset[str] | None = None,
    ) -> None:
        self.module, self.trainer, self.method, self.template = module, trainer, method, template
        self.probe = BlockProbe(module, blocks, template.batch_size)
        self.min_k, self.likelihood_samples = min_k, likelihood_samples
        self.generator = torch.Generator().manual_seed(template.seed)
        self.parts = frozenset(parts) if parts is not None else None

    def runs(self, part: str) -> bool:
        """Whether the measuring ``part`` runs."""
        return self.parts is None or part in self.parts

    def target(self, target: Target, count: int, offset: int) -> TargetState:
        """Sequences of the target, their dense hidden states and statistics in the probed blocks."""
        samples = target.samples(
            self.module.tokenizer, self.template.seqlen, count, offset, self.template.data_dir, self.template.seed
        )
        inputs = self.probe.inputs(samples)
        recorder = NormRecorder(per_sequence=True)
        dense = self.probe.run(inputs, recorder)
        tokens, rows = _real_rows(dense, inputs, COVERAGE_TOKENS, self.generator)
        return TargetState(target, inputs, dense, recorder, tokens, rows)

    def candidate(self, candidate: Candidate, targets: list[TargetState]) -> CandidateMeasures:
        """Every proxy's raw measures of one candidate; the model is dense again afterwards."""
        out = CandidateMeasures(candidate)
        clock = time.perf_counter()
        data = candidate.datamodule(self.template)
        data.connect(self.module.tokenizer, self.module.model, self.module.max_length)
        samples = data.build_samples()
        out.timings["sample"] = time.perf_counter() - clock

        if self.runs("lexical"):
            clock = time.perf_counter()
            tokens = real_tokens(samples.input_ids, samples.attention_mask)
            out.lexical, out.zipf = moving_type_token_ratio(tokens), zipf_exponent(tokens)
            out.timings["lexical"] = time.perf_counter() - clock

        if self.runs("dense_pass") or self.runs("prune_probe"):
            clock = time.perf_counter()
            inputs = self.probe.inputs(samples)
            out.timings["capture"] = time.perf_counter() - clock

        if self.runs("dense_pass"):
            clock = time.perf_counter()
            out.statistics = NormRecorder()
            hidden = self.probe.run(inputs, out.statistics)
            acts, _ = _real_rows(hidden, inputs, COVERAGE_TOKENS, self.generator)
            out.diversity = effective_rank(acts)
            for state in targets:
                out.coverage[state.target.name] = coverage_distance(acts, state.tokens)
            del hidden
            out.timings["dense_pass"] = time.perf_counter() - clock

        if self.runs("prune_probe"):
            clock = time.perf_counter()
            try:
                self.probe.prune(inputs, self.trainer, self.method)
                for state in targets:
                    pruned = self.probe.run(state.inputs)
                    out.reconstruction[state.target.name] = torch.cat(
                        [
                            relative_error(d, p, b.token_mask).cpu()
                            for d, p, b in zip(state.dense, pruned, state.inputs, strict=True)
                        ]
                    )
            finally:
                self.probe.restore()
            out.timings["prune_probe"] = time.perf_counter() - clock

        if self.runs("likelihood"):
            clock = time.perf_counter()
            subset = type(samples)(
                samples.input_ids[: self.likelihood_samples], samples.attention_mask[: self.likelihood_samples]
            )
            out.min_k = min_k_percent(sequence_log_probs(self.module, subset, self.template.batch_size), self.min_k)
            out.timings["likelihood"] = time.perf_counter() - clock
        log.info("advise: %s measured (%.1f s)", candidate.spec, sum(out.timings.values()))
        return out


def statistics_distance(measures: CandidateMeasures, state: TargetState, rows: list[int] | None = None) -> float:
    """The candidate's mean log-norm distance to the target's statistics (over the target's ``rows``)."""
    return mean_distance(measures.statistics.totals(), state.statistics.totals(rows))
