"""The advisor's targets: the data the pruned model must serve, as sequences of the calibration length.

A perplexity corpus (``wikitext``, ``c4``, ``pile``, a local text file) gives windows of its evaluation text,
skipping the first ``offset`` (e.g. the windows a later evaluation scores, so the advice is not fitted to
them); a downstream task gives prompts of its ``train`` split in zero-shot layout (the test items stay unseen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.datamodules.samples import CalibrationSamples
from calibprune.evaluation.corpora import corpus_windows, is_corpus
from calibprune.tasks import TASKS


@dataclass(frozen=True)
class Target:
    """One target: a perplexity corpus or a downstream task of ``--tasks``.

    Attributes:
        name: as in ``--tasks``.
        kind: ``perplexity`` or ``task``.
    """

    name: str
    kind: str

    def samples(
        self, tokenizer: Any, seqlen: int, count: int, offset: int, data_dir: str | None, seed: int = 0
    ) -> CalibrationSamples:
        """``count`` sequences of ``seqlen`` tokens of this target."""
        if self.kind == "perplexity":
            windows = corpus_windows(self.name, tokenizer, seqlen, data_dir, limit=offset + count)
            windows = windows[offset : offset + count]
            if len(windows) == 0:
                raise ValueError(f"--target_offset {offset} leaves no window of {self.name!r} ({seqlen} tokens each)")
            return CalibrationSamples(windows, torch.ones_like(windows))
        data = CalibrationDataModule(
            calibration=[self.name], nsamples=count, seqlen=seqlen, seed=seed, data_dir=data_dir, format="zero-shot"
        )
        data.connect(tokenizer)
        return data.build_samples()


def parse_targets(names: list[str] | None) -> list[Target]:
    """Check ``--targets`` (names of ``--tasks``: perplexity corpora or downstream tasks).

    Raises:
        ValueError: naming ``--targets`` and the accepted names.
    """
    if not names:
        raise ValueError("--targets: name at least one perplexity corpus or task, e.g. '[wikitext, c4]'")
    targets = []
    for name in names:
        if is_corpus(name):
            targets.append(Target(name, "perplexity"))
        elif name in TASKS:
            targets.append(Target(name, "task"))
        else:
            raise ValueError(
                f"--targets: unknown target {name!r}; accepted: wikitext, c4, pile, a .txt/.jsonl file, "
                f"or a task ({', '.join(TASKS)})"
            )
    if len(set(names)) != len(names):
        raise ValueError(f"--targets: a target is listed twice in {names}")
    return targets
