r"""``--method.targets`` / ``--method.ignore``: which weight matrices are pruned, chosen by their full dotted name.

A pattern matches the full name of a matrix, e.g. ``model.layers.0.self_attn.q_proj`` (fused experts:
``model.layers.0.mlp.experts.down_proj.3``, the expert index last):

- ``re:REGEX``: a Python regular expression matched from the start of the name (``re.match``, as in
  llm-compressor), e.g. ``re:.*self_attn`` or ``re:model\.layers\.(0|23)\.``;
- anything else: a shell-style glob matched against the whole name (``fnmatch``; ``*`` also crosses dots),
  e.g. ``*self_attn*``, ``model.layers.0.*``, ``*.mlp.down_proj``; without a wildcard it is the exact name.

A matrix is pruned when it matches some target (every matrix when ``targets`` is empty) and no ignore pattern.
A pattern that matches no matrix of the model is an error naming its option.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase


def _compile(pattern: str, option: str):
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"{option}: patterns must be non-empty strings, got {pattern!r}")
    if pattern.startswith("re:"):
        try:
            regex = re.compile(pattern[3:])
        except re.error as error:
            raise ValueError(f"{option}: {pattern!r} is not a valid regular expression ({error})") from None
        return lambda name: regex.match(name) is not None
    return lambda name: fnmatchcase(name, pattern)


@dataclass
class Selection:
    """Targets and ignore patterns, and the matrix names each one matched.

    Args:
        targets: patterns of the matrices to prune (empty: all of them).
        ignore: patterns of matrices left dense.
    """

    targets: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.targets, self.ignore = list(self.targets or []), list(self.ignore or [])
        self._targets = [(p, _compile(p, "--method.targets")) for p in self.targets]
        self._ignore = [(p, _compile(p, "--method.ignore")) for p in self.ignore]
        self._used: set[str] = set()

    def selects(self, name: str) -> bool:
        """Whether the matrix called ``name`` (full dotted name) is pruned; records which patterns matched."""
        targeted = not self._targets
        for pattern, match in self._targets:
            if match(name):
                self._used.add("t:" + pattern)
                targeted = True
        ignored = False
        for pattern, match in self._ignore:
            if match(name):
                self._used.add("i:" + pattern)
                ignored = True
        return targeted and not ignored

    def select(self, names: Iterable[str]) -> list[str]:
        """The names among ``names`` that are pruned."""
        return [name for name in names if self.selects(name)]

    def check_all_used(self) -> None:
        """Raise when a pattern matched no matrix (after every name of the model went through :meth:`selects`)."""
        options = (("--method.targets", "t:", self.targets), ("--method.ignore", "i:", self.ignore))
        for option, prefix, patterns in options:
            unused = [p for p in patterns if prefix + p not in self._used]
            if unused:
                raise ValueError(
                    f"{option}: {', '.join(map(repr, unused))} matches no weight matrix of the model's decoder blocks "
                    "(patterns match full names such as 'model.layers.0.self_attn.q_proj'; 're:' for a regex)"
                )
