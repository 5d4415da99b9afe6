"""How tasks are evaluated: the options every layer (CLI, datamodule, in-memory API, prune, study) shares."""

from __future__ import annotations

from dataclasses import dataclass, replace

from calibprune.errors import OptionError

DEFAULT_WINDOW = 2048  # tokens per perplexity window, unless the model's context is shorter


def default_window(max_length: int | None) -> int:
    """The default perplexity window of ``evaluate`` and ``prune --tasks``: 2048 tokens, or the model's context."""
    return DEFAULT_WINDOW if max_length is None else min(DEFAULT_WINDOW, max_length)


@dataclass(frozen=True)
class EvaluationOptions:
    """How every task is evaluated: perplexity window, batches, items, exemplars, generation, local data.

    The options are checked when built: an :class:`~calibprune.errors.OptionError` names the attribute
    (``seqlen``, ``limit``...); callers that call it otherwise rename it (``prune``'s ``eval_limit``).

    Attributes:
        seqlen: tokens per perplexity window (non-overlapping, incomplete tail dropped); default 2048, or the
            model's context if shorter.
        batch_size: perplexity windows, or test items, per forward pass (an item's choices share its batch).
        limit: evaluate only the first ``limit`` test items (or perplexity windows) of each task.
        num_fewshot: exemplars per prompt; ``None`` uses each task's default (the study's).
        seed: seed of the exemplar draw; item ``i`` of a task always gets the same exemplars.
        rationale: exemplars with their chain of thought (arithmetic tasks: generation goes on to "The answer is").
        max_new_tokens: most generated tokens per answer; ``None``: 256 with ``rationale``, else 32
            (arithmetic), 128 (translation).
        data_dir: folder with local copies ``<task>/{train,test}.jsonl`` (``c4/validation.jsonl``), read
            instead of the hub.
        shared_exemplars: the same exemplars for every test item of a task (one prompt prefix, computed once
            per batch) instead of a draw per item.
    """

    seqlen: int | None = None
    batch_size: int = 8
    limit: int | None = None
    num_fewshot: int | None = None
    seed: int = 0
    rationale: bool = False
    max_new_tokens: int | None = None
    data_dir: str | None = None
    shared_exemplars: bool = False

    def __post_init__(self) -> None:
        for name, value, low in (
            ("seqlen", self.seqlen, 2),
            ("batch_size", self.batch_size, 1),
            ("limit", self.limit, 1),
            ("num_fewshot", self.num_fewshot, 0),
            ("max_new_tokens", self.max_new_tokens, 1),
        ):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
                raise OptionError(name, f"must be an integer >= {low}, got {value!r}")
        if not isinstance(self.shared_exemplars, bool):
            raise OptionError("shared_exemplars", f"must be true or false, got {self.shared_exemplars!r}")

    def fit_window(self, max_length: int | None) -> EvaluationOptions:
        """These options with the default perplexity window filled in once the model's context is known."""
        return self if self.seqlen is not None else replace(self, seqlen=default_window(max_length))

    def describe(self, tasks: list[str]) -> str:
        """The evaluation line of the summary: tasks, perplexity window, limit."""
        limit = f", first {self.limit} items" if self.limit else ""
        return f"{', '.join(tasks)}; perplexity window {self.seqlen} tokens{limit}"
