"""Downstream-task calibration text: zero-shot questions, or in-context question-answer pairs (with CoT)."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import torch

from calibprune.datamodules.samples import CalibrationSamples
from calibprune.datamodules.sources.base import CalibrationSource, SourceContext, SourceOptions
from calibprune.datamodules.sources.packing import IndexStream, pad_rows
from calibprune.tasks import TASKS, get_task, load_records
from calibprune.tasks.base import EXEMPLAR_SEPARATOR, Example
from calibprune.tasks.encoding import bos_ids, encode_text, pad_id

log = logging.getLogger(__name__)
# Draws of ``num_incontext`` pairs tried before giving up on pairs that never fit the window.
FIT_ATTEMPTS = 20


class TaskSource(CalibrationSource):
    """Text of a task's training split in one of the study's formats, written with the task's template.

    A sequence starts with one BOS, and pairs are joined by blank lines exactly as evaluation prompts join
    their exemplars (``per_example_bos``: BOS before every pair and no separator, as the seed repo did).
    Examples are drawn without replacement until the pool is used up, then again (with a warning).

    - ``zero-shot``: one question without its answer, then padding (cut at ``seqlen`` if longer).
    - ``icl``: random pairs until the window is full; the last pair is cut where the window ends, so
      there is no padding (``data_seqlen``: the window is ``data_seqlen`` tokens, then padding).
    - ``icl-cot``: the same with every answer preceded by its rationale; examples without one are left
      out, and a task without rationales is an error. ``num_cot_steps`` keeps rationales of that many steps.
    - ``num_incontext=k``: exactly ``k`` whole pairs, then padding.

    Args:
        task: registered task name (see :data:`calibprune.tasks.TASKS`).
        options: the datamodule's source options.
    """

    def __init__(self, task: str, options: SourceOptions | None = None) -> None:
        self.task = get_task(task)
        self.options = options or SourceOptions()
        if self.options.format == "icl-cot" and not self.task.has_rationale:
            with_rationale = ", ".join(name for name, cls in TASKS.items() if cls().has_rationale)
            raise ValueError(f"--format icl-cot: task {task!r} has no rationales; tasks with them: {with_rationale}")
        self.rationale = self.options.format == "icl-cot"
        self._lengths: dict[int, int] = {}

    def samples(self, context: SourceContext, nsamples: int, generator: torch.Generator) -> CalibrationSamples:
        """Draw ``nsamples`` sequences from the task's training split."""
        pool = self.pool(context.data_dir)
        stream = IndexStream(len(pool), generator)
        self._lengths = {}
        rows = [self._row(context, pool, stream) for _ in range(nsamples)]
        if stream.rounds > 1:
            log.warning(
                "%s: %d sequences drew from the %d usable examples %d times over: examples repeat",
                self.task.name,
                nsamples,
                len(pool),
                stream.rounds,
            )
        return pad_rows(rows, context.seqlen, pad_id(context.tokenizer))

    def pool(self, data_dir: str | None) -> list[Example]:
        """Return the examples the format can use (with a rationale of the right length for ``icl-cot``)."""
        examples, invalid = [], 0
        for record in load_records(self.task, "train", data_dir):
            try:
                examples.append(self.task.example(record))
            except KeyError as err:
                message = f"{self.task.name}: a record lacks field {err}; records need the hub's field names"
                raise ValueError(message) from err
            except ValueError:
                invalid += 1
        if invalid:
            log.warning("%s: %d records without a valid label left out", self.task.name, invalid)
        if self.rationale:
            examples = [e for e in examples if e.rationale is not None]
            if not examples:
                raise ValueError(f"--format icl-cot: no record of {self.task.name} carries a rationale")
        steps = self.options.num_cot_steps
        if steps is not None:
            counts = Counter(self.task.rationale_steps(e) for e in examples)
            examples = [e for e in examples if self.task.rationale_steps(e) == steps]
            if not examples:
                found = ", ".join(f"{k} ({n})" for k, n in sorted(counts.items()))
                message = f"--num_cot_steps {steps}: no {self.task.name} rationale has {steps} steps; found {found}"
                raise ValueError(message)
        if not examples:
            raise ValueError(f"{self.task.name}: the training split holds no usable record")
        return examples

    def encode_pairs(self, tokenizer: Any, examples: list[Example]) -> list[int]:
        """Token ids of question-answer pairs joined as in evaluation prompts (or per-example BOS)."""
        texts = [self.task.pair_text(example, self.rationale) for example in examples]
        if self.options.per_example_bos:
            return [token for text in texts for token in encode_text(tokenizer, text, bos=True)]
        return encode_text(tokenizer, EXEMPLAR_SEPARATOR.join(texts), bos=True)

    def _row(self, context: SourceContext, pool: list[Example], stream: IndexStream) -> list[int]:
        tokenizer, seqlen = context.tokenizer, context.seqlen
        if self.options.format == "zero-shot":
            return encode_text(tokenizer, self.task.question_text(pool[stream.next()]), bos=True)[:seqlen]
        if self.options.num_incontext is not None:
            return self._k_pairs(tokenizer, seqlen, pool, stream)
        length = self.options.data_seqlen or seqlen
        if length > seqlen:
            raise ValueError(f"--data_seqlen {length} exceeds --seqlen {seqlen}")
        return self._filled(tokenizer, length, pool, stream)

    def _filled(self, tokenizer: Any, length: int, pool: list[Example], stream: IndexStream) -> list[int]:
        # Pair lengths are cached so that the whole text is encoded about once per sequence.
        if self.options.per_example_bos:
            separator = len(bos_ids(tokenizer))
        else:
            separator = len(encode_text(tokenizer, EXEMPLAR_SEPARATOR))
        chosen, estimate = [], len(bos_ids(tokenizer))
        while True:
            while estimate < length:
                index = stream.next()
                chosen.append(index)
                estimate += self._pair_length(tokenizer, pool, index) + separator
            ids = self.encode_pairs(tokenizer, [pool[i] for i in chosen])
            if len(ids) >= length:
                return ids[:length]
            estimate = len(ids)

    def _k_pairs(self, tokenizer: Any, seqlen: int, pool: list[Example], stream: IndexStream) -> list[int]:
        k = self.options.num_incontext
        for _ in range(FIT_ATTEMPTS):
            ids = self.encode_pairs(tokenizer, [pool[stream.next()] for _ in range(k)])
            if len(ids) <= seqlen:
                return ids
        raise ValueError(
            f"--num_incontext {k}: {k} pairs of {self.task.name} take {len(ids)} tokens, more than --seqlen {seqlen}"
        )

    def _pair_length(self, tokenizer: Any, pool: list[Example], index: int) -> int:
        if index not in self._lengths:
            text = self.task.pair_text(pool[index], self.rationale)
            self._lengths[index] = len(encode_text(tokenizer, text))
        return self._lengths[index]
