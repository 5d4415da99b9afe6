"""The options of the ``prune`` job, defined once: its flags, YAML keys and help come from these fields."""

from __future__ import annotations

from dataclasses import dataclass

from calibprune.errors import OptionError
from calibprune.evaluation.options import EvaluationOptions
from calibprune.modeling.workdir import WorkDir
from calibprune.prune.comparison import EVAL_PARAMETERS, renamed
from calibprune.prune.results_file import check_output_path
from calibprune.prune.saving import check_save_path


@dataclass(frozen=True)
class PruneOptions:
    """What ``prune`` does besides pruning: save, resume, evaluate, write results; checked when built.

    Attributes:
        save_model: write the pruned model (safetensors, config, tokenizer, sparsity report) to this
            directory, loadable with ``AutoModelForCausalLM.from_pretrained``.
        overwrite: replace ``save_model`` if it holds a model saved by calibprune (nothing else is replaced).
        resume: keep every finished block in ``<save_model>.partial``; a run of the same command that
            finds it (after a crash or kill) continues from the last finished block, to the same model.
        tasks: evaluate the dense and the pruned model on these perplexity corpora and downstream tasks,
            e.g. ``[wikitext, boolq]`` (the dense model's results are cached); local copies are read from
            ``--data_dir``.
        eval_limit: evaluate only the first items (or perplexity windows) of each task.
        eval_seqlen: tokens per perplexity window (default: 2048, or the model's context if shorter; the
            same default as ``calibprune evaluate --seqlen``).
        eval_batch_size: perplexity windows, or test items, per forward pass.
        skip_dense_eval: evaluate the pruned model only.
        output: write the results (per task: metric, value, stderr, n, settings; the model and calibration
            fingerprints) to this JSON file (default: ``results.json`` in the run directory).
    """

    save_model: str | None = None
    overwrite: bool = False
    resume: bool = False
    tasks: list[str] | None = None
    eval_limit: int | None = None
    eval_seqlen: int | None = None
    eval_batch_size: int = EvaluationOptions.batch_size
    skip_dense_eval: bool = False
    output: str | None = None

    def __post_init__(self) -> None:
        """Every check that needs neither the model nor the data: save target, resume, tasks, evaluation, output.

        Raises:
            OptionError, FileExistsError, PermissionError: naming the option and what it accepts.
        """
        if self.save_model:
            check_save_path(self.save_model, self.overwrite)
            if self.resume:
                WorkDir(WorkDir.next_to(self.save_model)).read_manifest()
        elif self.resume:
            raise OptionError(
                "resume",
                "needs save_model: finished blocks are kept in <that folder>.partial",
                "a save_model folder too",
                mentions=("save_model",),
            )
        if self.tasks is not None and len(self.tasks) == 0:
            raise OptionError("tasks", "empty list", "perplexity corpora and tasks, e.g. '[wikitext, boolq]'")
        self.evaluation(None)
        check_output_path(self.output)
        if self.output and not self.tasks:
            raise OptionError(
                "output", "prune writes the results of tasks", "pass tasks too (e.g. '[wikitext]')", mentions=("tasks",)
            )

    def evaluation(self, data_dir: str | None) -> EvaluationOptions:
        """How ``tasks`` are evaluated, with the calibration's local data folder.

        Raises:
            OptionError: naming ``eval_limit``, ``eval_seqlen`` or ``eval_batch_size``.
        """
        try:
            return EvaluationOptions(
                seqlen=self.eval_seqlen, batch_size=self.eval_batch_size, limit=self.eval_limit, data_dir=data_dir
            )
        except OptionError as err:
            raise renamed(err, EVAL_PARAMETERS) from None
