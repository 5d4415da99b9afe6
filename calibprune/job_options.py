"""A job whose options are the fields of one dataclass, each defined there once: type, default, doc and checks.

LightningCLI makes a subcommand of a Trainer method: jsonargparse reads the method's signature (one flag per
parameter) and its Google ``Args:`` docstring (the flags' help). A job decorated with :func:`takes_options` keeps its
options in a dataclass instead (fields with defaults, docs in its ``Attributes:`` section, checks in
``__post_init__``); the decorator gives the method a ``__signature__``, ``__annotations__`` and ``Args:`` entry per
field, and calls the job with the dataclass built from them. Adding a field adds the flag, its YAML key and its help.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from collections.abc import Callable
from typing import Any

_ENTRY = re.compile(r"^    (\w+):")


def takes_options(options: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a job ``(self, ..., *, options: Options)``: its method takes each field of ``options`` by name.

    The method's parameters are the job's own (without ``options``), then every field of ``options`` as a
    keyword-only parameter with the field's type and default (required without one); its docstring is the job's
    with the ``Args:`` entry of ``options`` replaced by the fields' ``Attributes:`` entries.

    Args:
        options: a dataclass whose every field has an entry in the ``Attributes:`` section of its docstring, and
            a plain default or none (no ``default_factory``: the signature shows the default).

    Raises:
        TypeError: a field without a doc or with a default factory, or a job that neither takes nor documents
            ``options``.
    """

    def decorate(job: Callable[..., Any]) -> Callable[..., Any]:
        return _method(job, options)

    return decorate


def field_docs(options: type) -> dict[str, str]:
    """The ``Attributes:`` entries of a dataclass's docstring by name, each as its lines (4 spaces indented)."""
    lines = inspect.cleandoc(options.__doc__ or "").splitlines()
    start = lines.index("Attributes:") + 1 if "Attributes:" in lines else len(lines)
    docs: dict[str, list[str]] = {}
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break  # the next section
        entry = _ENTRY.match(line)
        if entry is not None:
            docs[entry.group(1)] = [line]
        elif docs and line.strip():
            docs[list(docs)[-1]].append(line)
    return {name: "\n".join(entry) for name, entry in docs.items()}


def _method(job: Callable[..., Any], options: type) -> Callable[..., Any]:
    signature = inspect.signature(job)
    if "options" not in signature.parameters:
        raise TypeError(f"{job.__qualname__} takes no 'options' parameter")
    hints = typing.get_type_hints(job)
    own = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()]
    own = [p for p in own if p.name != "options"]
    fields = dataclasses.fields(options)
    types = typing.get_type_hints(options)
    docs = field_docs(options)
    for field in fields:
        if field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{options.__name__}.{field.name}: an option has a plain default, or none (required)")
        if field.name not in docs:
            raise TypeError(f"{options.__name__}.{field.name} has no entry in its docstring's Attributes:")
    added = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default,
            annotation=types[f.name],
        )
        for f in fields
    ]
    method_signature = signature.replace(parameters=own + added, return_annotation=hints.get("return", Any))
    names = [f.name for f in fields]

    def method(*args: Any, **kwargs: Any) -> Any:
        bound = method_signature.bind(*args, **kwargs)
        bound.apply_defaults()
        given = dict(bound.arguments)
        chosen = options(**{name: given.pop(name) for name in names})
        return job(**given, options=chosen)

    method.__name__, method.__qualname__, method.__module__ = job.__name__, job.__qualname__, job.__module__
    method.__doc__ = _docstring(job, [docs[name] for name in names])
    method.__signature__ = method_signature  # type: ignore[attr-defined]
    method.__annotations__ = {p.name: p.annotation for p in own + added if p.annotation is not p.empty}
    method.__annotations__["return"] = method_signature.return_annotation
    return method


def _docstring(job: Callable[..., Any], entries: list[str]) -> str:
    """The job's docstring with its ``Args:`` entry of ``options`` replaced by ``entries``."""
    lines = inspect.cleandoc(job.__doc__ or "").splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("    options:")), None)
    if "Args:" not in lines or start is None or start < lines.index("Args:"):
        raise TypeError(f"{job.__qualname__}'s docstring documents no 'options' in its Args: section")
    end = start + 1
    while end < len(lines) and lines[end].startswith("        "):
        end += 1
    return "\n".join([*lines[:start], *entries, *lines[end:]])
