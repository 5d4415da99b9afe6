"""Corpus windows are tokenised once per process and tokenizer, and re-read when the file changes."""

from __future__ import annotations

import os

import torch

from calibprune.evaluation import corpora


def test_windows_come_from_the_cache_and_equal_a_fresh_tokenisation(tokenizer, tmp_path, monkeypatch):
    path = tmp_path / "text.txt"
    path.write_text(" ".join(["alpha beta gamma delta"] * 200), encoding="utf-8")
    calls = []
    original = type(tokenizer).__call__

    def counting(self, *args, **kwargs):
        calls.append(len(args[0]) if args and isinstance(args[0], str) else 0)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(tokenizer), "__call__", counting)
    first = corpora.corpus_windows(str(path), tokenizer, 16, None, limit=4)
    big_calls = sum(1 for n in calls if n > 100)
    again = corpora.corpus_windows(str(path), tokenizer, 16, None, limit=8)
    assert sum(1 for n in calls if n > 100) == big_calls == 1  # the corpus text was tokenised once
    expected = torch.tensor(original(tokenizer, path.read_text(encoding="utf-8"))["input_ids"])
    assert torch.equal(again.flatten(), expected[: 8 * 16]) and torch.equal(first, again[:4])
    again[0, 0] = -1  # a caller's edit does not reach the cache
    assert torch.equal(
        corpora.corpus_windows(str(path), tokenizer, 16, None, limit=8),
        expected[:128].view(8, 16),
    )

    path.write_text(" ".join(["omega"] * 400), encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a new stamp even on a coarse clock
    changed = corpora.corpus_windows(str(path), tokenizer, 16, None, limit=2)
    assert torch.equal(changed.flatten(), torch.tensor(original(tokenizer, path.read_text())["input_ids"])[:32])
