"""Candidate calibration sets of ``advise``: any ``--calibration`` spec, a mixture, in a format, with a name."""

from __future__ import annotations

from dataclasses import dataclass

from calibprune.datamodules.calibration import CalibrationDataModule

FORMATS = ("icl", "icl-cot", "zero-shot")


@dataclass(frozen=True)
class Candidate:
    """One candidate calibration set.

    Attributes:
        spec: as given: sources joined by ``+`` (a mixture, equal weights), optionally ``@format``, e.g.
            ``c4``, ``self``, ``c4+gsm8k``, ``gsm8k@zero-shot``.
        sources: the calibration sources.
        format: the layout of task sources.
    """

    spec: str
    sources: tuple[str, ...]
    format: str = "icl"

    @classmethod
    def parse(cls, spec: str) -> Candidate:
        """Read ``source[+source...][@format]``.

        Raises:
            ValueError: naming ``--candidates`` on an empty source or unknown format.
        """
        body, at, fmt = spec.strip().rpartition("@") if "@" in spec else (spec.strip(), "", "icl")
        if at and fmt not in FORMATS:
            raise ValueError(f"--candidates: unknown format {fmt!r} in {spec!r}; accepted: {', '.join(FORMATS)}")
        sources = tuple(part.strip() for part in body.split("+"))
        if not body or any(not part for part in sources):
            raise ValueError(f"--candidates: empty source in {spec!r}; write e.g. c4, c4+gsm8k or gsm8k@zero-shot")
        return cls(spec.strip(), sources, fmt)

    def datamodule(self, template: CalibrationDataModule) -> CalibrationDataModule:
        """A calibration datamodule for this candidate with the template's sizes, seed and data folder."""
        return CalibrationDataModule(
            calibration=list(self.sources),
            nsamples=template.nsamples,
            seqlen=template.seqlen,
            batch_size=template.batch_size,
            seed=template.seed,
            data_dir=template.data_dir,
            format=self.format,
        )


def parse_candidates(specs: list[str] | None) -> list[Candidate]:
    """Parse and check ``--candidates`` (at least two, distinct).

    Raises:
        ValueError: naming ``--candidates``.
    """
    if not specs or len(specs) < 2:
        raise ValueError("--candidates: give at least two calibration sets to rank, e.g. '[c4, pile, self, c4+gsm8k]'")
    candidates = [Candidate.parse(spec) for spec in specs]
    if len({c.spec for c in candidates}) != len(candidates):
        raise ValueError(f"--candidates: a set is listed twice in {specs}")
    return candidates
