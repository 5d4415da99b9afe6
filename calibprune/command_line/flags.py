"""Short command-line flags (the seed repo's names) that set the nested ``--method.*``/``--data.*`` options.

A short flag is a top-level option that defaults to ``None``; when given (on the command line or as a
top-level key of a YAML config) it overrides the nested option it stands for, so that both
``--sparsity_ratio 0.7`` and ``--method.sparsity_ratio 0.7`` (or ``method: {init_args: ...}`` in YAML) work.
Nested options stay the canonical form of shipped configs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jsonargparse import Namespace

from calibprune.callbacks.base import PruningMethod
from calibprune.callbacks.registry import parameters_of, pruning_methods
from calibprune.errors import OptionError

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class ShortFlag:
    """A top-level option that sets one or more nested keys of a subcommand's config.

    Attributes:
        name: the option, without dashes (``sparsity_ratio``).
        type: its type, as jsonargparse reads it.
        targets: dotted keys it sets (``method.init_args.sparsity_ratio``).
        help: the ``--help`` text; ``None``: the help of the option it sets (its one declaration), see
            :meth:`described`.
    """

    name: str
    type: Any
    targets: tuple[str, ...]
    help: str | None = None

    def described(self, options: dict[str, str]) -> str:
        """The ``--help`` text: its own, else that of its first target in ``options`` (help by dotted key)."""
        if self.help is not None:
            return self.help
        return f"{options[self.targets[0]].rstrip('.')} (short for --{self.targets[0]})"


def _prune_flags() -> list[ShortFlag]:
    return [
        ShortFlag(
            "prune_method",
            str | None,
            ("method",),
            f"pruning method: {', '.join(pruning_methods())} (any case; short for --method)",
        ),
        ShortFlag(
            "sparsity_ratio",
            float | None,
            ("method.init_args.sparsity_ratio",),
            "fraction of weights pruned in every Linear layer, in [0, 1) (short for --method.sparsity_ratio)",
        ),
        ShortFlag(
            "sparsity_type",
            str | None,
            ("method.init_args.sparsity_type",),
            "unstructured or N:M, e.g. 2:4 (short for --method.sparsity_type)",
        ),
        ShortFlag(
            "calibration",
            list[str] | None,
            ("data.calibration",),
            "calibration source(s), e.g. c4, pile, gsm8k, self, a file (short for --data.calibration)",
        ),
        ShortFlag(
            "format",
            str | None,
            ("data.format",),
            "layout of task sources: zero-shot, icl or icl-cot (short for --data.format)",
        ),
        ShortFlag(
            "nsamples", int | None, ("data.nsamples",), "number of calibration sequences (short for --data.nsamples)"
        ),
        ShortFlag("seqlen", int | None, ("data.seqlen",), "tokens per calibration sequence (short for --data.seqlen)"),
        ShortFlag(
            "seed",
            int | None,
            ("data.seed", "seed_everything"),
            "seed of the calibration sampling and of everything else (short for --data.seed)",
        ),
        ShortFlag("data_dir", str | None, ("data.data_dir",)),
    ]


def _evaluate_flags() -> list[ShortFlag]:
    return [
        ShortFlag(
            "tasks",
            list[str] | None,
            ("data.tasks",),
            "perplexity corpora and downstream tasks, e.g. [wikitext, boolq] (short for --data.tasks)",
        ),
        ShortFlag("seqlen", int | None, ("data.seqlen",), "tokens per perplexity window (short for --data.seqlen)"),
        ShortFlag("limit", int | None, ("data.limit",), "first items (windows) of each task (short for --data.limit)"),
        ShortFlag(
            "seed",
            int | None,
            ("data.seed", "seed_everything"),
            "seed of the few-shot exemplar draw (short for --data.seed)",
        ),
        ShortFlag("data_dir", str | None, ("data.data_dir",)),
    ]


SHORT_FLAGS: dict[str, list[ShortFlag]] = {
    "prune": _prune_flags(),
    "evaluate": _evaluate_flags(),
    "advise": [flag for flag in _prune_flags() if flag.name != "calibration"],
}


def method_class(name: str) -> type[PruningMethod]:
    """The pruning method called ``name`` in any case.

    Raises:
        OptionError: naming ``prune_method`` and the accepted methods.
    """
    methods = pruning_methods()
    if name.lower() not in methods:
        raise OptionError("prune_method", f"unknown method {name!r}", ", ".join(methods))
    return methods[name.lower()]


def _method_config(name: str, current: Namespace | None) -> Namespace:
    """A ``method`` config for class ``name`` keeping the current options the new class also takes."""
    cls = method_class(name)
    accepted = parameters_of([cls])
    kept = {k: v for k, v in (current.get("init_args") or Namespace()).items() if k in accepted} if current else {}
    return Namespace(class_path=f"{cls.__module__}.{cls.__name__}", init_args=Namespace(**kept))


def apply_short_flags(config: Namespace, subcommand: str) -> None:
    """Copy every short flag that was given into the nested keys it stands for (in place)."""
    for flag in SHORT_FLAGS.get(subcommand, []):
        value = config.get(flag.name)
        if value is None:
            continue
        for target in flag.targets:
            if target == "method":
                config["method"] = _method_config(value, config.get("method"))
            else:
                config[target] = value


def expand_shorthands(args: list[str]) -> list[str]:
    """Rewrite ``--model NAME`` as ``--model.model NAME`` and ``--[prune_]method wanda`` as ``--method Wanda``.

    The method is rewritten in place, so that ``--method.*`` options after it apply to that class. ``--model``
    followed by a config (``.yaml``/``.yml``/``.json`` file or an inline ``{...}``) and unknown method names are
    left alone (the parser, or :func:`apply_short_flags`, reports them).
    """
    out: list[str] = []
    methods = {name: cls.__name__ for name, cls in pruning_methods().items()}
    index = 0
    while index < len(args):
        key, eq, value = args[index].partition("=")
        if key not in ("--model", "--method", "--prune_method") or (not eq and index + 1 == len(args)):
            out.append(args[index])
        else:
            if not eq:
                index += 1
                value = args[index]
            if key == "--model" and not _is_config(value):
                out += ["--model.model", value]
            elif key in ("--method", "--prune_method") and value.lower() in methods:
                out += ["--method", methods[value.lower()]]
            else:
                out += [key, value]
        index += 1
    return _method_first(out)


def _method_first(args: list[str]) -> list[str]:
    """Move the last ``--method Class`` before the first ``--method.*`` option, so that its options apply to it.

    ``--method.percdamp 0.05 --prune_method sparsegpt`` then means what it says, instead of setting an option of
    the default method (which has none of that name).
    """
    selections = [i for i in range(len(args) - 1) if args[i] == "--method" and not _is_config(args[i + 1])]
    options = [i for i, arg in enumerate(args) if arg.startswith("--method.")]
    if not selections or not options or selections[-1] < options[0]:
        return args
    chosen = selections[-1]
    pair = args[chosen : chosen + 2]
    rest = args[:chosen] + args[chosen + 2 :]
    first = next(i for i, arg in enumerate(rest) if arg.startswith("--method."))
    return rest[:first] + pair + rest[first:]


def _is_config(value: str) -> bool:
    return value.lstrip().startswith("{") or value.lower().endswith(CONFIG_SUFFIXES)
