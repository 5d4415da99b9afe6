"""The error every layer raises for a bad value of one of its parameters, named by the parameter, not by a flag.

The maths (``engine/``), the methods (``callbacks/``), the data and the jobs know their parameters
(``sparsity_ratio``, ``owl_m``, ``nsamples``, ``save_model``), not the command line that set them. Only
``command_line/`` turns a parameter into the flag the user typed (``--sparsity_ratio`` or
``--method.sparsity_ratio``, ``--grid.methods`` in a study). A layer that knows which group a parameter belongs
to adds it with :meth:`OptionError.within` as the error passes through it.
"""

from __future__ import annotations

import re
from collections.abc import Callable


class OptionError(ValueError):
    """A parameter's value cannot work: what is wrong with it and what is accepted instead.

    ``str(error)`` reads ``parameter: problem; accepted: ...``, which is what an API user sees; the command line
    prints :meth:`line` with the flag the user typed instead of the parameter.

    Args:
        parameter: the parameter's name where it is declared, dotted by group once known (``owl_m``,
            ``method.owl_m``, ``data.nsamples``, ``save_model``).
        problem: what is wrong, with the value as given (``must be > 0, got inf``).
        accepted: what would work (``a finite number > 0``); ``None`` when the problem says it.
        mentions: other parameters the problem or ``accepted`` names as whole words (``sparsity_type`` in
            ``contradicts sparsity_type 2:4``); the command line writes them as flags too.
    """

    def __init__(
        self, parameter: str, problem: str, accepted: str | None = None, *, mentions: tuple[str, ...] = ()
    ) -> None:
        self.parameter = parameter
        self.problem = problem
        self.accepted = accepted
        self.mentions = tuple(mentions)
        super().__init__(self.line(parameter))

    def line(self, flag: str, name: Callable[[str], str] | None = None) -> str:
        """The one-line message with ``flag`` (the option as typed) in front.

        Args:
            flag: what to call the parameter.
            name: what to call each mentioned parameter (default: its name).
        """
        text = f"{flag}: {self.problem}"
        text = f"{text}; accepted: {self.accepted}" if self.accepted else text
        if name is None or not self.mentions:
            return text
        head, body = text[: len(flag)], text[len(flag) :]
        words = {word: name(m) for m in self.mentions for word in (m.rpartition(".")[2], m)}
        alternatives = sorted(words, key=len, reverse=True)  # ``model.stream`` before ``stream``
        pattern = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, alternatives)) + r")(?![\w.])")
        return head + pattern.sub(lambda match: words[match.group(1)], body)

    def within(self, group: str) -> OptionError:
        """The same error with its parameter placed in ``group`` (``owl_m`` in ``method``: ``method.owl_m``).

        Mentioned parameters not placed yet go to the same group.
        """
        mentions = tuple(m if "." in m else f"{group}.{m}" for m in self.mentions)
        return OptionError(f"{group}.{self.parameter}", self.problem, self.accepted, mentions=mentions)

    def renamed(self, parameter: str) -> OptionError:
        """The same error about ``parameter``: a caller that passed its own parameter on under another name.

        E.g. ``prune``'s ``eval_limit`` becomes ``EvaluationOptions``' ``limit``; an error about ``limit`` is
        one about ``eval_limit`` to the ``prune`` job.
        """
        return OptionError(parameter, self.problem, self.accepted, mentions=self.mentions)

    def __reduce__(self):  # picklable across processes (DDP ranks) with its fields
        return (_rebuild, (self.parameter, self.problem, self.accepted, self.mentions))


def _rebuild(parameter: str, problem: str, accepted: str | None, mentions: tuple[str, ...]) -> OptionError:
    return OptionError(parameter, problem, accepted, mentions=mentions)
