"""Lightning callbacks: pruning methods that own their statistics hooks.

Every pruning method of this package (a :class:`PruningMethod` subclass in its own module) is exported by its class
name through :mod:`calibprune.callbacks.registry`: ``from calibprune.callbacks import Wanda`` and the class path
``calibprune.callbacks.Wanda`` work for a new method's file without an edit here.
"""

from calibprune.callbacks.base import PruningMethod as PruningMethod
from calibprune.callbacks.block_callback import BlockCallback as BlockCallback


def _methods() -> dict[str, type[PruningMethod]]:
    from calibprune.callbacks.registry import pruning_methods  # imports every module of the package, once

    return {cls.__name__: cls for cls in pruning_methods().values()}


def __getattr__(name: str) -> object:
    """A pruning method by class name (``Wanda``), or ``__all__``: this package's exports."""
    if name == "__all__":
        return sorted(["BlockCallback", "PruningMethod", *_methods()])
    if name[:1].isupper() and name in _methods():
        return _methods()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_methods()})
