"""Registry of calibration sources: adding a source is one ``register_source`` entry in this file.

A ``--calibration`` value (a *source spec*) is one of:

- a registered name: ``c4``, ``pile``, ``oscar``, ``redpajama``, ``wikitext`` (pre-training text), a task of
  :data:`calibprune.tasks.TASKS` (``gsm8k``, ``svamp``, ...), ``ellipses``, ``random``, ``self``;
- a token file ``.pt``/``.pth``/``.bin`` (exact tokens, e.g. written by ``--export_calibration``);
- a local text file ``.jsonl``/``.json``/``.csv``/``.parquet`` (column ``--text_field``) or ``.txt``;
- ``hf:<dataset_id>[:<config>]``: any Hugging Face dataset, split ``--split``, column ``--text_field``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from calibprune.datamodules.sources.base import FORMATS, CalibrationSource, SourceContext, SourceOptions
from calibprune.datamodules.sources.corpus import CorpusSource
from calibprune.datamodules.sources.nonsense import EllipsesSource, RandomSource
from calibprune.datamodules.sources.self_generated import SelfGeneratedSource
from calibprune.datamodules.sources.task import TaskSource
from calibprune.datamodules.sources.text_file import TEXT_FILE_SUFFIXES, FileSource, HubTextSource
from calibprune.datamodules.sources.token_file import TokenFileSource
from calibprune.tasks import TASKS
from calibprune.tasks.base import HubSpec

SourceFactory = Callable[[SourceOptions], CalibrationSource]
SOURCES: dict[str, SourceFactory] = {}
TOKEN_FILE_SUFFIXES = (".pt", ".pth", ".bin")
HUB_PREFIX = "hf:"


def register_source(name: str) -> Callable[[SourceFactory], SourceFactory]:
    """Register a factory ``options -> CalibrationSource`` under ``name`` (usable as a decorator)."""

    def wrap(factory: SourceFactory) -> SourceFactory:
        SOURCES[name] = factory
        return factory

    return wrap


def _corpus(name: str, hub: HubSpec, **kwargs: object) -> None:
    register_source(name)(partial(CorpusSource, name, hub, **kwargs))


# Pre-training text (hub ids of the study / the Wanda convention; the big corpora are streamed).
_corpus("c4", HubSpec("allenai/c4", data_files="en/c4-train.00000-of-01024.json.gz"))
_corpus("pile", HubSpec("monology/pile-uncopyrighted", streaming=True))
_corpus("oscar", HubSpec("oscar-corpus/OSCAR-2201", "en", streaming=True))
_corpus("redpajama", HubSpec("togethercomputer/RedPajama-Data-1T-Sample", streaming=True))
_corpus("wikitext", HubSpec("Salesforce/wikitext", "wikitext-2-raw-v1"), ordered=True, local_fallback="test")
# Downstream tasks, in the format chosen by the options.
for _task in TASKS:
    register_source(_task)(partial(TaskSource, _task))
# Nonsense and model-generated text.
register_source("ellipses")(EllipsesSource)
register_source("random")(RandomSource)
register_source("self")(lambda options: SelfGeneratedSource(data_seqlen=options.data_seqlen))


def build_source(spec: str, options: SourceOptions | None = None) -> CalibrationSource:
    """Turn one ``--calibration`` value into a source (see the module docstring for the accepted specs).

    Raises:
        ValueError: naming the flag and the accepted values when ``spec`` is none of them.

    """
    options = options or SourceOptions()
    if spec in SOURCES:
        return SOURCES[spec](options)
    if spec.startswith(HUB_PREFIX):
        return HubTextSource(spec[len(HUB_PREFIX) :], options)
    suffix = Path(spec).suffix
    if suffix in TOKEN_FILE_SUFFIXES:
        return TokenFileSource(spec)
    if suffix in TEXT_FILE_SUFFIXES:
        return FileSource(spec, options)
    raise ValueError(
        f"--calibration: unknown source {spec!r}; accepted: {', '.join(sorted(SOURCES))}, a token file "
        f"({', '.join(TOKEN_FILE_SUFFIXES)}), a text file ({', '.join(TEXT_FILE_SUFFIXES)}) "
        f"or {HUB_PREFIX}<dataset_id>[:<config>]"
    )


__all__ = [
    "FORMATS",
    "SOURCES",
    "CalibrationSource",
    "SourceContext",
    "SourceOptions",
    "build_source",
    "register_source",
]
