"""The calibration data's numbers, checked before anything is drawn: finite, in range, within what can be held.

:class:`~calibprune.datamodules.calibration.CalibrationDataModule` checks its own arguments with these (API
use), and the command line and a study's grid build one before any model loads, so no path skips them.
"""

from __future__ import annotations

import math
from numbers import Real

from calibprune.errors import OptionError

# Calibration tokens (nsamples x seqlen) calibprune draws at most: 512 times the usual 128 x 2048. Beyond it the ids
# alone take gigabytes and the forward passes days; a typo (an extra zero or ten) stops here, not hours later.
MAX_CALIBRATION_TOKENS = 2**27


def check_count(parameter: str, value: object, minimum: int = 1) -> None:
    """Fail unless ``value`` is an integer ``>= minimum`` (``True`` is no count).

    Raises:
        OptionError: naming ``parameter``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        accepted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise OptionError(parameter, f"must be {accepted}, got {value!r}", accepted)


def check_budget(nsamples: int, seqlen: int) -> None:
    """Fail when ``nsamples`` or ``seqlen`` is no positive integer, or their product is beyond what can be held.

    Raises:
        OptionError: naming ``nsamples`` or ``seqlen``.
    """
    check_count("nsamples", nsamples)
    check_count("seqlen", seqlen)
    if nsamples * seqlen > MAX_CALIBRATION_TOKENS:
        raise OptionError(
            "nsamples",
            f"{nsamples} x seqlen {seqlen} = {nsamples * seqlen:.3g} calibration tokens, beyond the "
            f"{MAX_CALIBRATION_TOKENS} (2^27) calibprune draws",
            f"1 to {MAX_CALIBRATION_TOKENS // seqlen} sequences of {seqlen} tokens",
        )


def check_weights(weights: list[float] | None, sources: int) -> None:
    """Fail unless ``weights`` is ``None`` or one finite, non-negative number per source, not all zero.

    Raises:
        OptionError: naming ``weights``.
    """
    if weights is None:
        return
    accepted = f"{sources} finite numbers >= 0, one per calibration source, not all 0"
    if len(weights) != sources:
        raise OptionError("weights", f"{len(weights)} weights for {sources} calibration sources: {weights}", accepted)
    for weight in weights:
        if isinstance(weight, bool) or not isinstance(weight, Real) or not math.isfinite(weight) or weight < 0:
            raise OptionError("weights", f"{weight!r} in {weights} is not a finite number >= 0", accepted)
    if sum(weights) <= 0:
        raise OptionError("weights", f"all weights are 0: {weights}", accepted)


def mixture(sources: list[str], weights: list[float] | None) -> tuple[tuple[str, float], ...]:
    """What a mixture means, whatever its writing: each source's share, sources in order, zero shares dropped.

    ``[random, ellipses]``, the same with ``weights: [1, 1]`` and ``[ellipses, random]`` with ``[2, 2]`` are one
    mixture; so are ``[c4, random]`` with ``[1, 0]`` and ``[c4]``.
    """
    weights = [1.0] * len(sources) if weights is None else weights
    total = sum(weights)
    shares = {source: round(weight / total, 12) for source, weight in zip(sources, weights, strict=True) if weight}
    return tuple(sorted(shares.items()))
