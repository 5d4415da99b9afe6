"""Turn parser and user errors into one line that names the option and what it accepts."""

from __future__ import annotations

import importlib
import re

from calibprune.callbacks.registry import parameters_of, pruning_methods
from calibprune.errors import OptionError

_OWN_MESSAGE = re.compile(r"^\s*-?\s*(--\S.*)$")
_PARSER_KEY = re.compile(r'Parser key "([^"]+)"')
_BULLET = re.compile(r"^\s*-\s+(.*)$")
_METHOD_CLASS = re.compile(r"Problem with given class_path '([\w.]+)'")
_NOT_ACCEPTED = re.compile(r"^\s*Option '([\w.]+)' is not accepted")
_EXPECTED = re.compile(r"Expected a <class '(\w+)'>\. Got value: (.*)$")


def option_error(err: BaseException) -> OptionError | None:
    """The :class:`OptionError` behind ``err`` (itself, or what it was raised from), or ``None``."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, OptionError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def method_option_error(lines: list[str]) -> str | None:
    """The line for a ``--method.*`` option the chosen class refused at parsing: unknown key, or wrong type.

    jsonargparse reports both as the whole ``--method`` failing ("invalid value; accepted: Magnitude, ..."); the
    class it tried and the option it refused are in its nested lines.
    """
    text = "\n".join(lines)
    chosen = _METHOD_CLASS.search(text)
    if chosen is None:
        return None
    name = chosen.group(1).rpartition(".")[2]
    after = lines[next(i for i, line in enumerate(lines) if _METHOD_CLASS.search(line)) + 1 :]
    for index, line in enumerate(after[:3]):
        unknown = _NOT_ACCEPTED.match(line)
        if unknown:
            accepted = ", ".join(sorted(_parameters(chosen.group(1))))
            return f"--method.{unknown.group(1)}: not an option of {name}; accepted: {accepted}"
        key = _PARSER_KEY.search(line)
        if key and index + 1 < len(after):
            detail = after[index + 1].strip()
            expected = _EXPECTED.search(detail)
            if expected:
                kind = {"float": "a finite number", "int": "an integer", "bool": "true or false"}.get(expected.group(1))
                detail = f"expected {kind or expected.group(1)}, got {expected.group(2).strip()}"
            return f"--method.{key.group(1)}: {detail} ({name})"
    return None


def _parameters(class_path: str) -> set[str]:
    """The options a pruning method class takes (its own and its bases')."""
    found = {cls for cls in pruning_methods().values() if f"{cls.__module__}.{cls.__name__}" == class_path}
    if not found:
        module_name, _, class_name = class_path.rpartition(".")
        try:
            found = {getattr(importlib.import_module(module_name), class_name)}
        except (ImportError, AttributeError, ValueError):
            return set()
    return parameters_of(found)


def one_line_error(message: str, choices: dict[str, list[str]] | None = None) -> str:
    """Condense a (possibly nested, multi-line) error message to its most useful line.

    Args:
        message: the error text, e.g. a jsonargparse error listing every union member that failed.
        choices: accepted values per option key, quoted when that key is the culprit.
    """
    lines = [line for line in str(message).strip().splitlines() if line.strip()]
    if not lines:
        return "invalid arguments"
    for line in lines:
        own = _OWN_MESSAGE.match(line)
        if own:  # calibprune's own messages start with the flag they are about
            return own.group(1).strip()
    key = _PARSER_KEY.search(lines[0])
    if key and key.group(1) == "method":
        described = method_option_error(lines)
        if described is not None:
            return described
    if key:
        name = key.group(1)
        accepted = (choices or {}).get(name)
        if accepted:
            return f"--{name}: invalid value; accepted: {', '.join(accepted)}"
        detail = next((m.group(1) for m in map(_BULLET.match, lines[1:]) if m), " ".join(lines[1:2]).strip())
        return f"--{name}: {detail}"
    return lines[0].strip()


def describe_error(err: BaseException) -> str:
    """The message of a user error, with the option and what it accepts added where the raiser could not know them.

    Args:
        err: an exception from parsing or from the run.
    """
    names = {cls.__name__ for cls in type(err).__mro__}
    if "DatasetGenerationError" in names:  # ``datasets`` failed on a local --calibration .jsonl/.csv/.parquet file
        cause = err.__cause__ or err.__context__
        detail = f"{type(cause).__name__}: {str(cause).splitlines()[0]}" if cause is not None else str(err)
        return (
            f"--calibration: cannot parse a local data file ({detail}); accepted: .jsonl (one JSON object per "
            "line), .json, .csv (with a header row) or .parquet, with a --text_field column"
        )
    if isinstance(err, FloatingPointError) and not str(err).startswith("--"):
        return (
            f"--model: {err}; the weights hold NaN/Inf or overflow in --model.dtype (float16: try bfloat16 or float32)"
        )
    if "MisconfigurationException" in names:  # Lightning rejected a --trainer.* combination
        return f"--trainer: {str(err).splitlines()[0] if str(err) else type(err).__name__}"
    if "LinAlgError" in names and not str(err).startswith("--"):
        return f"--method.percdamp: {err}; accepted: a larger damping (default 0.01)"
    return str(err)
