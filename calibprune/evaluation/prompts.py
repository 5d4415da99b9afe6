"""Few-shot prompts: seeded exemplars from the train split and the task's own template (as in calibration)."""

from __future__ import annotations

import hashlib

import torch

from calibprune.tasks.base import Example


def exemplar_seed(seed: int, task: str, index: int) -> int:
    """Seed of the exemplars of test item ``index``: independent of ``--limit``, batch order and other tasks."""
    digest = hashlib.sha256(f"{seed}:{task}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % (2**63 - 1)


def draw_exemplars(pool: list[Example], k: int, test_example: Example | None, seed: int) -> list[Example]:
    """Draw ``k`` distinct exemplars from the train pool, never one with the test item's question (if given).

    Raises:
        ValueError: naming ``--num_fewshot`` when the pool is too small.
    """
    order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed)).tolist()
    excluded = None if test_example is None else test_example.question
    chosen = [pool[i] for i in order if pool[i].question != excluded][:k]
    if len(chosen) < k:
        raise ValueError(f"--num_fewshot {k}: the train split has only {len(chosen)} usable exemplars")
    return chosen
