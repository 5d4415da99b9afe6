"""The options of ``advise``, defined once: the ``advise`` job's flags, YAML keys and help come from these fields."""

from __future__ import annotations

from dataclasses import dataclass

from calibprune.advisor.candidates import Candidate, parse_candidates
from calibprune.advisor.report import check_advice_folder
from calibprune.advisor.targets import Target, parse_targets
from calibprune.datamodules.calibration import CalibrationDataModule


@dataclass(frozen=True)
class AdviseOptions:
    """What ``advise`` ranks, against what, and how; checked when built, before the model loads.

    Attributes:
        candidates: calibration sets to rank: ``--calibration`` sources, ``+`` for a mixture, ``@format`` for
            task layouts, e.g. ``[c4, pile, self, c4+gsm8k, gsm8k@zero-shot]``.
        targets: what the pruned model must serve: perplexity corpora and/or tasks, names as in ``--tasks``.
        proxy: the ranking proxy: coverage (default: the best in the validation, docs/advisor),
            reconstruction, statistics, combined (mean rank of reconstruction and statistics), diversity,
            lexical or likelihood.
        all_proxies: also measure every other proxy, for comparison (slower: by default only what ``proxy``
            needs is measured).
        blocks: decoder blocks, from the first, pruned with each candidate's statistics by the probe.
        target_windows: target sequences (perplexity windows or task prompts) of ``--data.seqlen`` tokens.
        target_offset: skip the first target windows (e.g. those a later evaluation scores).
        bootstrap: bootstrap draws over target sequences for the intervals and P(best) (0: none).
        output_dir: folder for advice.{md,csv,json,png} (empty: print only).
        overwrite: replace an advice already in ``output_dir``.
        plot: write advice.png.
    """

    candidates: list[str] | None = None
    targets: list[str] | None = None
    proxy: str = "coverage"
    all_proxies: bool = False
    blocks: int = 2
    target_windows: int = 16
    target_offset: int = 0
    bootstrap: int = 200
    output_dir: str | None = "advice"
    overwrite: bool = False
    plot: bool = True

    def __post_init__(self) -> None:
        """Check every option that needs no calibration settings; each error names its option."""
        # Imported when checked: the scores' NormRecorder stays out of --trainer.callbacks' help.
        from calibprune.advisor.scores import ALL_PROXIES

        parse_candidates(self.candidates)
        if self.proxy not in ALL_PROXIES:
            raise ValueError(f"--proxy: unknown proxy {self.proxy!r}; accepted: {', '.join(ALL_PROXIES)}")
        for flag, value, low in (
            ("--blocks", self.blocks, 1),
            ("--target_windows", self.target_windows, 2),
            ("--target_offset", self.target_offset, 0),
            ("--bootstrap", self.bootstrap, 0),
        ):
            if not isinstance(value, int) or value < low:
                raise ValueError(f"{flag} must be an integer >= {low}, got {value!r}")
        if self.output_dir:
            check_advice_folder(self.output_dir, self.overwrite)
        parse_targets(self.targets)

    def candidate_sets(self, template: CalibrationDataModule | None) -> list[Candidate]:
        """The candidates, each checked against the calibration settings it is drawn with (``--data``).

        Raises:
            ValueError: naming ``--data`` or ``--candidates`` (an unknown source, a bad format or mixture).
        """
        if template is None:
            raise ValueError("--data: advise needs the calibration settings (nsamples, seqlen, seed, data_dir)")
        parsed = parse_candidates(self.candidates)
        for candidate in parsed:
            try:
                candidate.datamodule(template)
            except ValueError as err:
                reason = str(err).removeprefix("--calibration: ")
                raise ValueError(f"--candidates {candidate.spec}: {reason}") from None
        return parsed

    def target_list(self) -> list[Target]:
        """The targets, parsed (checked when built)."""
        return parse_targets(self.targets)
