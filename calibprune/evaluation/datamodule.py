"""The evaluation stream: perplexity windows and few-shot requests of every task, one dataloader per task."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader
from typing_extensions import override

from calibprune.errors import OptionError
from calibprune.evaluation.corpora import CORPORA, corpus_windows, is_corpus
from calibprune.evaluation.options import EvaluationOptions
from calibprune.evaluation.requests import EvaluationPlan, build_requests, task_examples, uses_rationale
from calibprune.tasks import TASKS, get_task, load_records

log = logging.getLogger(__name__)


MAX_PADDING = 0.1  # padded positions allowed per real token in a multiple-choice batch


def padding_bounded_batches(lengths: list[int], batch_size: int, max_padding: float = MAX_PADDING) -> list[list[int]]:
    """Split items sorted longest first into consecutive batches of at most ``batch_size``.

    A batch grows while ``count x longest <= (1 + max_padding) x real tokens``, so left padding never costs more
    than ``max_padding`` of the batch's work (on a CPU a padded position costs as much as a real one).
    """
    batches: list[list[int]] = []
    for index, length in enumerate(lengths):
        batch = batches[-1] if batches else None
        if batch and len(batch) < batch_size:
            longest, real = lengths[batch[0]], sum(lengths[i] for i in batch) + length
            if longest * (len(batch) + 1) <= (1 + max_padding) * real:
                batch.append(index)
                continue
        batches.append([index])
    return batches


def _as_list(items: list[Any]) -> list[Any]:
    return items


def _indexed_windows(items: list[tuple[int, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Perplexity windows stacked, with their positions in the corpus (so item order survives sharding)."""
    indices, windows = zip(*items, strict=True)
    return torch.tensor(indices), torch.stack(windows)


class EvaluationDataModule(pl.LightningDataModule):
    """What to evaluate: perplexity corpora and downstream tasks, how many items, how many exemplars.

    Args:
        tasks: perplexity corpora (``wikitext``, ``c4``, ``pile``, or a local ``.txt``/``.jsonl`` file) and
            downstream tasks (``gsm8k``, ``svamp``, ``mawps``, ``esnli``, ``anli_r1``, ``anli_r2``, ``anli_r3``,
            ``rte``, ``boolq``, ``commonsense_qa``, ``race``, ``winogrande``, ``wmt14``, ``iwslt``).
        **options: how they are evaluated: the fields of :class:`~calibprune.evaluation.options.EvaluationOptions`
            (``seqlen``, ``batch_size``, ``limit``, ``num_fewshot``, ``seed``, ...; ``--data.*`` on the command line).
    """

    def __init__(self, tasks: list[str] | None = None, **options: Any) -> None:
        super().__init__()
        self.tasks = [tasks] if isinstance(tasks, str) else list(tasks or ["wikitext"])
        for name in self.tasks:
            if name not in TASKS and not is_corpus(name):
                raise OptionError(
                    "tasks",
                    f"unknown task {name!r}",
                    f"wikitext, c4, pile, a .txt/.jsonl file, {', '.join(sorted(TASKS))}",
                )
        self.options = EvaluationOptions(**options)
        self.tokenizer: Any = None
        self.max_length: int | None = None
        self.plans: list[EvaluationPlan] | None = None

    @classmethod
    def from_options(cls, tasks: list[str], options: EvaluationOptions) -> EvaluationDataModule:
        """The datamodule of ``tasks`` evaluated with ``options``."""
        return cls(tasks, **asdict(options))

    def connect(self, tokenizer: Any, max_length: int | None = None) -> None:
        """Link the late-bound tokenizer and the model's context length (checked against ``seqlen``)."""
        self.options = self.options.fit_window(max_length)
        seqlen = self.options.seqlen
        needs_windows = any(is_corpus(name) for name in self.tasks)
        if needs_windows and max_length is not None and seqlen > max_length:
            raise OptionError(
                "seqlen", f"{seqlen} exceeds the model's context of {max_length} tokens", f"2 to {max_length}"
            )
        self.tokenizer, self.max_length = tokenizer, max_length

    def settings(self, name: str) -> dict[str, Any]:
        """Every option the results of task ``name`` depend on (the key of the result cache)."""
        options = self.options
        if is_corpus(name):
            settings = {
                "kind": "perplexity",
                "seqlen": options.seqlen,
                "limit": options.limit,
                "data_dir": options.data_dir,
            }
            if name not in CORPORA:  # a local file: its content may change under the same name
                stat = Path(name).stat()
                settings["file"] = [str(Path(name).resolve()), stat.st_size, stat.st_mtime_ns]
            return settings
        task = get_task(name)
        return {
            "kind": task.kind,
            "limit": options.limit,
            "num_fewshot": task.default_shots if options.num_fewshot is None else options.num_fewshot,
            "seed": options.seed,
            "rationale": uses_rationale(task, options.rationale),
            "max_new_tokens": None if task.kind == "multiple_choice" else options.max_new_tokens,
            "data_dir": options.data_dir,
            "shared_exemplars": options.shared_exemplars,
        }

    def plan(self, name: str) -> EvaluationPlan:
        """Load and tokenise the items of one task, longest first (less padding per batch)."""
        settings, options = self.settings(name), self.options
        if settings["kind"] == "perplexity":
            windows = corpus_windows(name, self.tokenizer, options.seqlen, options.data_dir, options.limit)
            return EvaluationPlan(name, "perplexity", list(windows), settings)
        task = get_task(name)
        tests = task_examples(task, load_records(task, "test", options.data_dir, options.limit))
        k = settings["num_fewshot"]
        pool = task_examples(task, load_records(task, "train", options.data_dir)) if k else []
        requests = build_requests(
            task, self.tokenizer, tests, pool, k, options.seed, options.rationale, options.shared_exemplars
        )
        log.info("%s: %d items, %d-shot", name, len(requests), k)
        return EvaluationPlan(name, task.kind, sorted(requests, key=lambda r: -r.length), settings)

    @override
    def setup(self, stage: str | None = None) -> None:
        """Build the plans of every task once (idempotent)."""
        if self.tokenizer is None:
            raise RuntimeError("EvaluationDataModule.connect(tokenizer) must be called before setup")
        if self.plans is None:
            self.plans = [self.plan(name) for name in self.tasks]

    @override
    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        """Move window tensors; request lists stay Python lists (scorers pad them on the model's device)."""
        if isinstance(batch, tuple):  # (window indices, windows)
            return tuple(part.to(device) for part in batch)
        return batch.to(device) if isinstance(batch, torch.Tensor) else batch

    @override
    def test_dataloader(self) -> list[DataLoader]:
        """One dataloader per task, in ``tasks`` order: window tensors, or lists of requests.

        Multiple-choice items (one forward pass each) go in batches of at most ``batch_size`` whose padding
        stays within :data:`MAX_PADDING` of their real tokens; generation keeps full batches (fewer decoding
        loops).
        """
        self.setup()
        loaders, batch_size = [], self.options.batch_size
        for plan in self.plans:
            if plan.kind == "multiple_choice":
                batches = padding_bounded_batches([item.length for item in plan.items], batch_size)
            else:
                batches = [
                    list(range(i, min(i + batch_size, len(plan.items)))) for i in range(0, len(plan.items), batch_size)
                ]
            if plan.kind == "perplexity":
                items, collate = list(enumerate(plan.items)), _indexed_windows
            else:
                items, collate = plan.items, _as_list
            loaders.append(DataLoader(items, batch_sampler=self._shard(batches), collate_fn=collate))
        return loaders

    def _shard(self, batches: list[list[int]]) -> list[list[int]]:
        """This process's batches: every item is scored exactly once over all processes (no padding repeats).

        The trainer must not inject a ``DistributedSampler`` (which pads with duplicates): ``PruningTrainer``
        turns it off for evaluation; the metrics sum their states over processes.
        """
        trainer = self.trainer
        if trainer is None or trainer.world_size == 1:
            return batches
        return batches[trainer.global_rank :: trainer.world_size]
