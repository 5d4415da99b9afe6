"""The error every layer raises for a bad value of one of its parameters, named by the parameter, not by a flag.

The maths (``engine/``), the methods (``callbacks/``), the data and the jobs know their parameters
(``sparsity_ratio``, ``owl_m``, ``nsamples``, ``save_model``), not the command line that set them. Only
``command_line/`` turns a parameter into the flag the user typed (``--sparsity_ratio`` or
``--method.sparsity_ratio``, ``--grid.methods`` in a study). A layer that knows which group a parameter belongs
to adds it with :meth:`OptionError.within` as the error passes through it.
"""

from __future__ import annotations


class OptionError(ValueError):
    """A parameter's value cannot work: what is wrong with it and what is accepted instead.

    ``str(error)`` reads ``parameter: problem; accepted: ...``, which is what an API user sees; the command line
    prints :meth:`line` with the flag the user typed instead of the parameter.

    Args:
        parameter: the parameter's name where it is declared, dotted by group once known (``owl_m``,
            ``method.owl_m``, ``data.nsamples``, ``save_model``).
        problem: what is wrong, with the value as given (``must be > 0, got inf``).
        accepted: what would work (``a finite number > 0``); ``None`` when the problem says it.
    """

    def __init__(self, parameter: str, problem: str, accepted: str | None = None) -> None:
        self.parameter = parameter
        self.problem = problem
        self.accepted = accepted
        super().__init__(self.line(parameter))

    def line(self, flag: str) -> str:
        """The one-line message with ``flag`` (the option as typed) in front."""
        text = f"{flag}: {self.problem}"
        return f"{text}; accepted: {self.accepted}" if self.accepted else text

    def within(self, group: str) -> OptionError:
        """The same error with its parameter placed in ``group`` (``owl_m`` in ``method``: ``method.owl_m``)."""
        return OptionError(f"{group}.{self.parameter}", self.problem, self.accepted)

    def __reduce__(self):  # picklable across processes (DDP ranks) with its fields
        return (OptionError, (self.parameter, self.problem, self.accepted))
