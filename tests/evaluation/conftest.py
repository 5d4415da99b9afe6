"""Fixtures of the evaluation tests: a tiny random Llama and OPT loaded in memory, a small local data folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_llama(tiny_llama_dir):
    from calibprune.modeling.loading import load_model

    return load_model(str(tiny_llama_dir))


@pytest.fixture(scope="session")
def tiny_opt(tiny_opt_dir):
    from calibprune.modeling.loading import load_model

    return load_model(str(tiny_opt_dir))


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture(scope="session")
def local_data(tmp_path_factory) -> Path:
    """Synthetic records with the hub's field names: boolq, gsm8k, wmt14, and a wikitext-like corpus."""
    root = tmp_path_factory.mktemp("data")
    boolq = [
        {"question": f"is {i} an even number", "passage": f"The number {i} is written in digits.", "answer": i % 2 == 0}
        for i in range(12)
    ]
    write_jsonl(root / "boolq" / "train.jsonl", boolq[:6])
    write_jsonl(root / "boolq" / "test.jsonl", boolq[6:])
    gsm8k = [{"question": f"What is {i} plus {i}?", "answer": f"{i} + {i} = {2 * i}\n#### {2 * i}"} for i in range(12)]
    write_jsonl(root / "gsm8k" / "train.jsonl", gsm8k[:6])
    write_jsonl(root / "gsm8k" / "test.jsonl", gsm8k[6:])
    wmt = [{"translation": {"en": f"The house number {i}.", "fr": f"La maison numéro {i}."}} for i in range(8)]
    write_jsonl(root / "wmt14" / "train.jsonl", wmt[:4])
    write_jsonl(root / "wmt14" / "test.jsonl", wmt[4:])
    fox = [{"text": f" The quick brown fox number {i} jumps over the lazy dog .\n"} for i in range(200)]
    lines = [{"text": ""}, *fox]
    write_jsonl(root / "wikitext" / "test.jsonl", lines)
    return root
