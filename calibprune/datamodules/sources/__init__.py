"""Registry of calibration sources: adding a source is one ``@register_source`` entry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from calibprune.datamodules.sources.base import CalibrationSource, SourceContext
from calibprune.datamodules.sources.self_generated import SelfGeneratedSource
from calibprune.datamodules.sources.token_file import TokenFileSource

SOURCES: dict[str, Callable[[], CalibrationSource]] = {}
TOKEN_FILE_SUFFIXES = (".pt", ".pth", ".bin")


def register_source(name: str) -> Callable:
    """Class/factory decorator that registers a calibration source under ``name``."""

    def wrap(factory: Callable[[], CalibrationSource]) -> Callable[[], CalibrationSource]:
        SOURCES[name] = factory
        return factory

    return wrap


register_source("self")(SelfGeneratedSource)


def build_source(spec: str) -> CalibrationSource:
    """Turn one ``--calibration`` value into a source: a registered name or a token file path.

    Raises:
        ValueError: naming the flag and the accepted values when ``spec`` is neither.
    """
    if spec in SOURCES:
        return SOURCES[spec]()
    if Path(spec).suffix in TOKEN_FILE_SUFFIXES:
        return TokenFileSource(spec)
    accepted = ", ".join(sorted(SOURCES))
    raise ValueError(f"--calibration: unknown source {spec!r}; accepted: {accepted}, or a token file (.pt)")


__all__ = ["SOURCES", "CalibrationSource", "SourceContext", "build_source", "register_source"]
