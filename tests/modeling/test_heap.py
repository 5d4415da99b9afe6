"""Freed activation memory stays on the heap for the next batch instead of being page-faulted in again."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc heap tuning is Linux-only")

# Rounds of a batch's MLP activations (three 12 MiB tensors written, then freed), in a fresh process so that the
# heap starts clean. Prints the minor page faults of twenty rounds after five warming ones (the heap grows for a
# few rounds until freed chunks fit the next requests), then those of one round after a trim. With glibc's
# defaults most runs fault about 120,000 pages in the twenty rounds (some reuse the heap by chance).
_ROUNDS = """
import resource, sys, torch
from calibprune.modeling.heap import return_freed_memory, reuse_freed_memory
def rounds(n):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(n):
        tensors = [torch.empty(3 * 2**20).fill_(1.0) for _ in range(3)]
        del tensors
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
reuse_freed_memory()
rounds(5)
print(rounds(20))
return_freed_memory()
print(rounds(1))
"""

ONE_ROUND_PAGES = 3 * 12 * 2**20 // 4096


def test_freed_activations_are_reused_until_the_heap_is_trimmed():
    run = subprocess.run([sys.executable, "-c", _ROUNDS], capture_output=True, text=True, check=True)
    reused, after_trim = (int(line) for line in run.stdout.split())
    assert reused < ONE_ROUND_PAGES, f"{reused} page faults in 20 rounds: freed memory went back to the OS"
    assert after_trim >= ONE_ROUND_PAGES // 3, "after return_freed_memory the next tensors are faulted in again"
