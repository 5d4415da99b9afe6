"""The one mapping from a parameter (``owl_m``, ``data.nsamples``, ``save_model``) to the flag the user typed.

Everything below ``command_line/`` names parameters (:class:`~calibprune.errors.OptionError`); this module turns
one into the flag of the subcommand that was run: the short flag when the user typed it (``--sparsity_ratio``),
else the nested option (``--method.sparsity_ratio``, ``--data.nsamples``, ``--grid.seeds`` in a study), else the
top-level option of the job (``--save_model``, ``--candidates``). The groups come from the parser's own option
strings, and for ``--method`` (whose options depend on the class chosen) from the pruning methods' signatures.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from calibprune.errors import OptionError

_LEADING_FLAG = re.compile(r"^--([A-Za-z_][\w.]*)(?![\w.])")
# Groups in the order a bare parameter is looked for when several take it (``seed``: ``--data.seed`` first).
_GROUP_ORDER = ("method", "data", "model", "grid", "evaluation", "analysis", "trainer")


class OptionNames:
    """The flags of one run of ``calibprune``: its subcommand's options and the arguments the user typed.

    Args:
        options: every option string of the subcommand's parser (``--data.nsamples``, ``--save_model``...).
        typed: the command-line arguments as given.
        short: the subcommand's short flags, each with the nested keys it sets (``seqlen``: ``data.seqlen``).
        method_parameters: the parameters of every pruning method (the options ``--method.*`` can take).
    """

    def __init__(
        self,
        options: Iterable[str],
        typed: Iterable[str],
        short: dict[str, tuple[str, ...]] | None = None,
        method_parameters: Iterable[str] = (),
    ) -> None:
        self.options = set(options)
        self.typed = {arg.partition("=")[0] for arg in typed if arg.startswith("--")}
        self.short = short or {}
        self.method_parameters = set(method_parameters)

    def flag(self, parameter: str) -> str:
        """The flag for ``parameter`` (bare, ``nsamples``, or placed in its group, ``data.nsamples``)."""
        if parameter.isupper():  # an environment variable (``CALIBPRUNE_CACHE``) is named as it is
            return parameter
        group, _, leaf = parameter.rpartition(".")
        if self._short_typed(leaf, group):
            return f"--{leaf}"
        if group:
            if group == "method":  # typed as ``--method.X`` or ``--method.init_args.X``: the short form is shown
                return f"--method.{leaf}"
            return f"--{parameter}"
        if f"--{leaf}" in self.options and leaf not in self.short:
            return f"--{leaf}"  # a job's own option (``--save_model``, ``--tasks`` of prune, ``--candidates``)
        groups = self._groups_of(leaf)
        typed = [g for g in groups if f"--{g}.{leaf}" in self.typed]
        if typed or groups:
            return f"--{(typed or groups)[0]}.{leaf}"
        return f"--{leaf}"

    def line(self, err: OptionError) -> str:
        """The one-line message of ``err``, with its parameter and those it mentions as flags."""
        return err.line(self.flag(err.parameter), self.flag)

    def rename_leading(self, message: str) -> str:
        """A message that starts with ``--name`` (an error not yet raised as :class:`OptionError`), named as typed."""
        match = _LEADING_FLAG.match(message)
        if match is None or f"--{match.group(1)}" in self.typed:
            return message
        return self.flag(match.group(1)) + message[match.end() :]

    def unknown(self, key: str, subcommand: str, where: str | None = None) -> str:
        """The line for an option the subcommand does not take, with the options it takes in that group.

        Args:
            key: the option without dashes (``data.seqlenn``, ``foo``).
            subcommand: ``prune``, ``evaluate``, ``study`` or ``advise``.
            where: the flag of the config file that holds ``key`` (``--config``), or ``None`` when it was typed.
        """
        group = key.partition(".")[0] if "." in key else ""
        same = sorted(
            option
            for option in self.options
            if option.startswith("--")
            and not option.endswith((".help", "--help", "--print_config", "--config"))
            and (option.startswith(f"--{group}.") if group else "." not in option)
        )
        close = difflib.get_close_matches(f"--{key}", same, n=1)
        hint = f"{close[0]}? " if close else ""
        accepted = (
            f"{hint}options: {', '.join(same)}" if len(same) <= 30 else f"{hint}see calibprune {subcommand} --help"
        )
        head = f"{where}: key {key!r} is" if where else f"--{key}:"
        return f"{head} not an option of calibprune {subcommand}; accepted: {accepted}"

    def _short_typed(self, leaf: str, group: str) -> bool:
        targets = self.short.get(leaf)
        if targets is None or f"--{leaf}" not in self.typed:
            return False
        return not group or any(t in (f"{group}.{leaf}", f"{group}.init_args.{leaf}", group) for t in targets)

    def _groups_of(self, leaf: str) -> list[str]:
        nested = {option[2:].partition(".")[0] for option in self.options if option.count(".") == 1}
        found = [g for g in nested if f"--{g}.{leaf}" in self.options]
        if "--method" in self.options and leaf in self.method_parameters:
            found.append("method")
        return sorted(set(found), key=lambda g: (_GROUP_ORDER.index(g) if g in _GROUP_ORDER else len(_GROUP_ORDER), g))
