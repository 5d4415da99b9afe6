"""Text corpora for perplexity: WikiText-2, C4 validation, the Pile validation set, or any local text file."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from calibprune.evaluation.perplexity import split_windows
from calibprune.tasks.base import HubSpec
from calibprune.tasks.records import fetch_records, read_jsonl

LOCAL_SUFFIXES = (".txt", ".jsonl")


@dataclass(frozen=True)
class Corpus:
    """A perplexity corpus and the protocol that turns it into one token stream.

    Attributes:
        name: the name given in ``--tasks``; also the folder of its local copy, ``<data_dir>/<name>/``.
        hub: where the records are on the Hugging Face Hub (``test_split`` is the split evaluated).
        local_split: stem of the local file, ``<data_dir>/<name>/<local_split>.jsonl``.
        separator: how the records' ``text`` fields are joined.
        max_documents: join only the first documents (the Wanda protocol for C4: 1100).
        max_windows: keep only the first windows of ``seqlen`` tokens (the Wanda protocol for C4: 256).
    """

    name: str
    hub: HubSpec
    local_split: str = "test"
    separator: str = "\n\n"
    max_documents: int | None = None
    max_windows: int | None = None

    def text(self, data_dir: str | None) -> str:
        """The corpus as one string, from ``<data_dir>/<name>/<local_split>.jsonl`` or the hub."""
        records = fetch_records(
            self.name, self.local_split, self.hub, self.hub.test_split, data_dir, self.max_documents
        )
        return self.separator.join(record["text"] for record in records)


CORPORA: dict[str, Corpus] = {
    corpus.name: corpus
    for corpus in (
        # WikiText-2 raw test split, rows joined with blank lines: "\n\n".join(data["text"]).
        Corpus("wikitext", HubSpec("Salesforce/wikitext", "wikitext-2-raw-v1")),
        # Wanda's C4 protocol: first validation shard, 1100 documents joined with spaces, 256 windows.
        Corpus(
            "c4",
            HubSpec("allenai/c4", None, test_split="train", data_files="en/c4-validation.00000-of-00008.json.gz"),
            local_split="validation",
            separator=" ",
            max_documents=1100,
            max_windows=256,
        ),
        # The Pile's validation set (copyrighted subsets removed), with C4's protocol; streamed (zstd).
        Corpus(
            "pile",
            HubSpec(
                "monology/pile-uncopyrighted", None, test_split="train", streaming=True, data_files="val.jsonl.zst"
            ),
            separator=" ",
            max_documents=1100,
            max_windows=256,
        ),
    )
}


def is_corpus(name: str) -> bool:
    """Whether ``name`` is a registered corpus or a local ``.txt``/``.jsonl`` text file."""
    return name in CORPORA or (name.endswith(LOCAL_SUFFIXES) and Path(name).is_file())


def local_corpus_text(path: str) -> str:
    """A local file's text: a ``.txt`` file whole, a ``.jsonl`` file's ``text`` fields joined with blank lines."""
    if path.endswith(".jsonl"):
        return "\n\n".join(record["text"] for record in read_jsonl(path))
    return Path(path).read_text(encoding="utf-8")


def corpus_windows(
    name: str, tokenizer: Any, seqlen: int, data_dir: str | None, limit: int | None = None
) -> torch.Tensor:
    """The ``[n, seqlen]`` evaluation windows of a corpus, tokenised as the protocol does (special tokens on).

    Args:
        name: a name of :data:`CORPORA` or the path of a local ``.txt``/``.jsonl`` file.
        tokenizer: the model's tokenizer.
        seqlen: tokens per window.
        data_dir: folder with local copies ``<name>/<split>.jsonl``.
        limit: evaluate only the first windows.
    """
    corpus = CORPORA.get(name)
    token_ids = _corpus_tokens(name, corpus, tokenizer, data_dir)
    caps = [cap for cap in (corpus.max_windows if corpus else None, limit) if cap is not None]
    return split_windows(token_ids, seqlen, min(caps, default=None)).clone()


# Token ids of the corpora tokenised last in this process: a study or an advisor run evaluates the same corpus
# with the same tokenizer again and again, and tokenising it (seconds for C4's 1100 documents) is pure waste.
_TOKEN_CACHE: OrderedDict[tuple[Any, ...], torch.Tensor] = OrderedDict()
_TOKEN_CACHE_SIZE = 4


def _corpus_tokens(name: str, corpus: Corpus | None, tokenizer: Any, data_dir: str | None) -> torch.Tensor:
    """The corpus's token ids, tokenised once per process, tokenizer and source file (an edited file is re-read)."""
    source = Path(name) if corpus is None else Path(data_dir or "") / name
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in _source_files(source))
    probe = tuple(tokenizer("Hello world.\n\n A b")["input_ids"])  # special tokens and settings show here
    key = (name, str(data_dir), stamp, type(tokenizer).__name__, getattr(tokenizer, "name_or_path", None), probe)
    if key in _TOKEN_CACHE:
        _TOKEN_CACHE.move_to_end(key)
        return _TOKEN_CACHE[key]
    text = corpus.text(data_dir) if corpus is not None else local_corpus_text(name)
    token_ids = torch.tensor(tokenizer(text)["input_ids"], dtype=torch.long)
    _TOKEN_CACHE[key] = token_ids
    while len(_TOKEN_CACHE) > _TOKEN_CACHE_SIZE:
        _TOKEN_CACHE.popitem(last=False)
    return token_ids


def _source_files(source: Path) -> list[Path]:
    """The local file(s) a corpus is read from (none when it comes from the hub)."""
    if source.is_file():
        return [source]
    return sorted(source.glob("*.jsonl")) if source.is_dir() else []
