"""Turn parser and user errors into one line that names the option and what it accepts."""

from __future__ import annotations

import inspect
import re

from calibprune.command_line.flags import pruning_methods

_OWN_MESSAGE = re.compile(r"^\s*-?\s*(--\S.*)$")
_PARSER_KEY = re.compile(r'Parser key "([^"]+)"')
_BULLET = re.compile(r"^\s*-\s+(.*)$")


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


_LEADING_FLAG = re.compile(r"^--([A-Za-z_][\w]*)(?![\w.])")


def typeable_flag(message: str, options: set[str]) -> str:
    """Name the message's leading flag as the user can type it: ``--batch_size`` becomes ``--data.batch_size``.

    Classes report their own argument names; when such a name is no option of the subcommand, the nested
    option of that name is used (``--method.<name>`` for a pruning method's arguments).

    Args:
        message: a one-line error starting with a flag.
        options: every option string of the subcommand (empty: the message is returned as it is).
    """
    match = _LEADING_FLAG.match(message)
    if match is None or not options or f"--{match.group(1)}" in options:
        return message
    name = match.group(1)
    nested = sorted(option for option in options if option.count(".") == 1 and option.endswith(f".{name}"))
    if nested:
        return nested[0] + message[match.end() :]
    if "--method" in options and name in _method_arguments():
        return f"--method.{name}" + message[match.end() :]
    return message


def _method_arguments() -> set[str]:
    return {name for cls in pruning_methods().values() for name in inspect.signature(cls.__init__).parameters}
