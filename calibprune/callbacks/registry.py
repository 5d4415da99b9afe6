"""Every pruning method shipped with calibprune: the subclasses of ``PruningMethod`` in ``calibprune.callbacks``.

A method is registered by its file alone: every module of this package is imported once, so that a new
``callbacks/<method>.py`` is listed by ``--prune_method``, ``--method``, the study grid and error messages without
another edit.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable
from functools import cache

import calibprune.callbacks as package
from calibprune.callbacks.base import PruningMethod


@cache
def _import_all() -> None:
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


def pruning_methods() -> dict[str, type[PruningMethod]]:
    """Every pruning method of ``calibprune.callbacks`` by lower-case class name (``wanda``...), sorted.

    A method of another package is chosen by class path: ``--method my_package.MyMethod``.
    """
    _import_all()
    found, stack = {}, list(PruningMethod.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if not inspect.isabstract(cls) and cls.__module__.startswith("calibprune."):
            found[cls.__name__.lower()] = cls
    return dict(sorted(found.items()))


def method_names() -> str:
    """The class names of every pruning method of ``calibprune.callbacks``, sorted, for messages (``..., Wanda``)."""
    return ", ".join(cls.__name__ for cls in pruning_methods().values())


def parameters_of(classes: Iterable[type]) -> set[str]:
    """Every parameter the ``__init__`` of ``classes`` takes, with those they pass on to a base by ``**kwargs``."""
    names: set[str] = set()
    for cls in classes:
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None:
                continue
            params = inspect.signature(init).parameters.values()
            names |= {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self"}
            if not any(p.kind == p.VAR_KEYWORD for p in params):
                break  # the bases' other parameters are not passed on
    return names
