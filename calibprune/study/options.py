"""The options of a study job, defined once: ``calibprune study`` and ``python -m calibprune.study run`` take them."""

from __future__ import annotations

from dataclasses import dataclass

from calibprune.study.spec import AnalysisSpec, EvaluationSpec, GridSpec, ModelEntry, StudySpec


@dataclass(frozen=True)
class StudyOptions:
    """A study's settings besides its model (the keys of a study file), and which of its cells to run.

    Attributes:
        grid: calibration sets, methods, nsamples, seqlen and seeds to cross.
        evaluation: tasks and settings every pruned model and the dense one are evaluated with.
        data_dir: local copies ``<source>/{train,test}.jsonl`` for calibration and evaluation.
        output_dir: results, report (tables, plots) and TensorBoard logs.
        name: the study's title.
        shard: ``i/n``: run only the cells whose position modulo ``n`` is ``i`` (e.g. a SLURM array task).
        report: write the report after the run (default: yes, unless ``--shard`` is given).
        analysis: the report's tests: reference set (default ``c4``), significance level, margins.
    """

    grid: GridSpec
    evaluation: EvaluationSpec
    data_dir: str | None = None
    output_dir: str = "studies/study"
    name: str = "study"
    shard: str | None = None
    report: bool | None = None
    analysis: AnalysisSpec | None = None

    def spec(self, model: ModelEntry) -> StudySpec:
        """The study of ``model`` these options describe."""
        return StudySpec(
            model,
            self.grid,
            self.evaluation,
            self.data_dir,
            self.output_dir,
            self.name,
            self.analysis or AnalysisSpec(),
        )
