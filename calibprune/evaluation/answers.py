"""Final-number extraction from generated text (a regular expression, never ``eval``) and numeric comparison."""

from __future__ import annotations

import math
import re

# A signed number: thousands groups ("1,234"), decimals ("5.50", ".5"), an optional "$", an optional "/den"
# fraction. A minus sign counts only when it does not follow a word or a closing bracket ("10-3" is 10, 3).
_NUMBER = re.compile(
    r"(?P<neg>(?<![\w)\]])-)?\s?\$?\s?"
    r"(?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)"
    r"(?:\s?/\s?(?P<den>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?))?"
    r"(?![\d,]*\d)"
)
# Where a chain of thought states its result; the first number after the last cue is the answer.
_ANSWER_CUE = re.compile(r"answer is|####", re.IGNORECASE)


def _value(match: re.Match[str]) -> float | None:
    value = float(match["num"].replace(",", ""))
    if match["den"] is not None:
        denominator = float(match["den"].replace(",", ""))
        if denominator == 0:
            return None
        value /= denominator
    return -value if match["neg"] else value


def parse_number(text: str) -> float | None:
    """The final number of a model's answer, ``None`` when there is none.

    The first number after the last ``The answer is`` (or ``####``) when the text has that cue, else the
    last number of the text. ``1,234`` is 1234, ``$5.50`` is 5.5, ``3/4`` is 0.75; a trailing full stop is
    not a decimal point.
    """
    cues = list(_ANSWER_CUE.finditer(text))
    if cues:
        after = _NUMBER.search(text, cues[-1].end())
        if after is not None:
            return _value(after)
    numbers = list(_NUMBER.finditer(text))
    return _value(numbers[-1]) if numbers else None


def numbers_match(prediction: float | None, target: float, rel_tol: float = 1e-4) -> bool:
    """Whether a parsed prediction equals the gold number within a relative tolerance."""
    return prediction is not None and math.isclose(prediction, target, rel_tol=rel_tol, abs_tol=1e-9)
