"""Merge every results file of a study folder (all shards) and write its tables, plots and TensorBoard view."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calibprune.files.atomic import write_text
from calibprune.study.aggregate import Summary, summarise
from calibprune.study.compare import Comparison, reference_comparisons
from calibprune.study.findings import Finding, judge_findings
from calibprune.study.spec import AnalysisSpec
from calibprune.study.store import PARAMETER, STUDY_KIND, is_study_output, read_records
from calibprune.study.tables import comparisons_csv, long_csv, markdown_table, wide_csv

log = logging.getLogger(__name__)

STD_NOTE = (
    "Cells: mean over calibration seeds ± the half-width of its 95% Student-t confidence interval "
    "(t_0.975,n-1 · s/√n, s the sample standard deviation, ddof=1); no ± with a single seed (summary.csv keeps "
    "the paper's ± 2 std). Bold: best calibration set of each method (lowest perplexity, highest accuracy). "
    "Average: mean of the accuracy rows (acc, exact_match), per seed, then over seeds."
)
TEST_NOTE = (
    "Marks: the difference to the reference set `(ref)` of the same method, nsamples and seqlen is significant "
    "at alpha={alpha} after Holm's correction (family: one row, one method/setting, one kind of test) "
    "**over test items** `*` (McNemar's exact test for single-seed 0/1 scores, else a paired bootstrap of "
    "{resamples} resamples on the seed-averaged per-item values: correctness, or each perplexity window's mean "
    "NLL; the Average row resamples items within each task) and **over seeds** `†` (paired t-test when both "
    "sets ran the same seeds, else Welch's). Every p-value: comparisons.csv."
)


@dataclass
class Report:
    """What :func:`write_report` produced.

    Attributes:
        summary: the tables' content.
        files: every file written.
        cells_done: cells of the grid finished.
        cells_expected: cells of the study's grid (``None`` when its ``study.json`` is absent).
    """

    summary: Summary
    files: list[Path]
    cells_done: int
    cells_expected: int | None
    comparisons: list[Comparison] | None = None
    findings: list[Finding] | None = None


def _study(folder: Path) -> Any:
    spec_file = folder / "study.json"
    if not spec_file.is_file():
        return None
    from calibprune.study.config import spec_from_dict

    return spec_from_dict(json.loads(spec_file.read_text(encoding="utf-8")))


def _grid_ids(spec: Any) -> set[str] | None:
    """Ids of the cells of the study's grid (``None`` without a study)."""
    from calibprune.study.cells import expand_cells

    return None if spec is None else {cell.cell_id for cell in expand_cells(spec)}


def _progress(records: list[dict[str, Any]], grid: set[str] | None) -> tuple[int, int | None, int]:
    """Cells of the grid finished, cells in the grid, and finished cells from outside it (another grid's)."""
    finished = {r["id"] for r in records if r["kind"] == "cell"}
    if grid is None:
        return len(finished), None, 0
    return len(finished & grid), len(grid), len(finished - grid)


def _skipped(records: list[dict[str, Any]]) -> str:
    skipped = [r for r in records if r["kind"] == "skipped"]
    if not skipped:
        return ""
    reasons: dict[str, list] = {}
    for record in skipped:
        reasons.setdefault(record["reason"], []).append(record["labels"]["calibration"])
    lines = [f"- {', '.join(sorted(set(t)))} ({len(t)} cells): {reason}" for reason, t in reasons.items()]
    return "Skipped (calibration data unavailable; run again once it is):\n" + "\n".join(lines) + "\n"


def findings_markdown(findings: list[Finding]) -> str:
    """The paper's findings in order: per finding, a table per (method, evidence row) of its claims and tests."""
    from calibprune.study.findings import FINDINGS

    parts = [
        "## The paper's findings\n",
        "Computed from the results by `calibprune.study.findings` (rules in its "
        "docstring): a claim is *reproduced* when its difference is significant in the paper's direction "
        '(or, for "as well as", the two sets are equivalent within the margin), *not reproduced* when it is '
        "significant the other way (or equivalent where the paper claims a gain), else *inconclusive*; "
        "significant means every test that could run has a Holm-adjusted p below alpha.\n",
    ]
    for number, (text, needs) in FINDINGS.items():
        parts.append(f"### {number}. {text}\n")
        mine = [f for f in findings if f.number == number]
        if not mine:
            parts.append(f"**not tested**: no finished cells hold the sets it needs ({needs}).\n")
        for finding in mine:
            parts.append(f"*{finding.statement}* — {finding.method}, {finding.evidence}: **{finding.label}**\n")
            parts.append("| claim | label | evidence and test |\n|---|---|---|")
            parts += [f"| {c.text} | {c.label} | {c.reason} |" for c in finding.claims]
            parts.append("")
    return "\n".join(parts) + "\n"


def _timings(records: list[dict[str, Any]], expected: int | None = None, done: int | None = None) -> str:
    cells = [r for r in records if r["kind"] == "cell"]
    dense = [r for r in records if r["kind"] == "dense" and "evaluate_s" in r.get("timings", {})]
    text = ""
    if dense:
        text += f"Dense model: {dense[-1]['timings']['evaluate_s'] / 60:.1f} min evaluating. "
    if cells:
        prune = sum(r["timings"]["prune_s"] for r in cells)
        evaluate = sum(r["timings"]["evaluate_s"] for r in cells)
        text += f"Time: {prune / 60:.1f} min pruning, {evaluate / 60:.1f} min evaluating ({len(cells)} cells). "
    left = None if expected is None else expected - (len(cells) if done is None else done)
    if left:
        if cells:
            each = sum(r["timings"]["prune_s"] + r["timings"]["evaluate_s"] for r in cells) / len(cells)
            basis = f"the mean of the {len(cells)} finished cells, {each / 60:.1f} min each"
        elif dense:
            each = dense[-1]["timings"]["evaluate_s"]
            basis = f"the dense model's evaluation time, {each / 60:.1f} min, pruning not included"
        else:
            return text + "\n"
        text += f"Projected for the {left} cells left: {left * each / 3600:.1f} h on this machine (at {basis})."
    return text + "\n" if text else ""


def throughput_table(records: list[dict[str, Any]], dense_owner: str | None = None) -> str:
    """Seconds and items per second of each task: the dense evaluation (finished, or its partial tasks) and cells.

    Args:
        records: the study's records, ``partial`` ones included.
        dense_owner: id of the dense evaluation, to read its partial tasks when it has not finished.
    """
    rows: dict[str, tuple[int | None, float]] = {}
    dense = [r for r in records if r["kind"] == "dense" and r.get("timings", {}).get("tasks_s")]
    if dense:
        items = {r["task"]: r["n"] for r in dense[-1]["results"]}
        rows = {task: (items.get(task), s) for task, s in dense[-1]["timings"]["tasks_s"].items()}
    else:
        for record in records:
            if record["kind"] == "partial" and dense_owner is not None and record.get("owner") == dense_owner:
                n = record["results"][0]["n"] if record["results"] else None
                rows[record["task"]] = (n, record["timings"]["evaluate_s"])
    cell_s: dict[str, list[float]] = {}
    for record in records:
        if record["kind"] == "cell":
            for task, s in (record.get("timings", {}).get("tasks_s") or {}).items():
                cell_s.setdefault(task, []).append(s)
    if not rows and not cell_s:
        return ""
    lines = [
        "Evaluation time per task on this machine (the dense model, and the mean over finished cells):\n",
        "| task | items | dense s | dense items/s | cells' mean s |",
        "|---|---:|---:|---:|---:|",
    ]
    for task in dict.fromkeys([*rows, *cell_s]):
        n, s = rows.get(task, (None, None))
        mean = f"{sum(cell_s[task]) / len(cell_s[task]):.1f}" if task in cell_s else "-"
        rate = f"{n / s:.2f}" if n and s else "-"
        lines.append(f"| {task} | {n or '-'} | {'-' if s is None else f'{s:.1f}'} | {rate} | {mean} |")
    return "\n".join(lines) + "\n"


def markdown_report(
    summary: Summary,
    records: list[dict[str, Any]],
    done: int,
    expected: int | None,
    plots: list[Path],
    comparisons: list[Comparison] | None = None,
    findings: list[Finding] | None = None,
    analysis: AnalysisSpec | None = None,
    throughput: str = "",
    others: int = 0,
) -> str:
    """The report's Markdown: title, progress, skipped sets, table with marks, notes, findings, plots.

    ``done`` counts the finished cells of the grid of ``expected`` cells; ``others`` those of other grids.
    """
    analysis = analysis or AnalysisSpec()
    progress = f"{done}/{expected}" if expected is not None else str(done)
    if others:
        progress += f" of this grid (and {others} of other grids in the results, in the tables too)"
    parts = [
        f"# {summary.name}\n",
        f"Cells finished: {progress}. {_timings(records, expected, done)}",
        _skipped(records),
        markdown_table(summary, comparisons),
        STD_NOTE + "\n",
    ]
    if comparisons:
        parts.append(TEST_NOTE.format(alpha=analysis.alpha, resamples=analysis.resamples) + "\n")
    if findings is not None:
        parts.append(findings_markdown(findings))
    parts.append(throughput)
    parts += [f"![{path.stem}](plots/{path.name})\n" for path in plots]
    return "\n".join(part for part in parts if part)


def write_report(
    output_dir: str | Path,
    plots: bool = True,
    tensorboard: bool = True,
    reference: str | None = None,
    spec: Any = None,
) -> Report:
    """Read every ``results*.jsonl`` of ``output_dir`` (deduplicated by cell id) and write the report there.

    Files: ``report.md``, ``table.md``, ``table.csv`` (paper layout, with significance marks), ``summary.csv``
    (one line per task and column, with the per-seed values and t-intervals), ``comparisons.csv`` (every test
    against the reference set), ``findings.md`` (the paper's findings, labelled), ``plots/*.png``,
    ``tensorboard/``.

    Args:
        output_dir: the study's output folder (or a folder into which shards' results files were gathered).
        plots: write PNG plots (needs matplotlib).
        tensorboard: write the TensorBoard HParams view.
        reference: the calibration set the others are tested against (default: the study's ``analysis``).
        spec: the study whose grid the progress counts (default: the folder's ``study.json``, that of the
            last run into it).
    """
    folder = Path(output_dir)
    records = read_records(folder)
    if not read_records(folder, partial=True):
        raise FileNotFoundError(f"--output_dir: no results*.jsonl records in {str(folder)!r}")
    summary = summarise(records)
    spec = spec if spec is not None else _study(folder)
    done, expected, others = _progress(records, _grid_ids(spec))
    analysis = spec.analysis if spec is not None else AnalysisSpec()
    if reference is not None:
        analysis = AnalysisSpec(**{**analysis.__dict__, "reference": reference})
    comparisons = reference_comparisons(summary, records, analysis.reference, analysis.alpha, analysis.resamples)
    findings = judge_findings(summary, records, analysis)
    files = []
    for name, text in (
        ("table.md", markdown_table(summary, comparisons)),
        ("table.csv", wide_csv(summary)),
        ("summary.csv", long_csv(summary)),
        ("comparisons.csv", comparisons_csv(comparisons)),
        ("findings.md", findings_markdown(findings)),
    ):
        write_text(folder / name, text, PARAMETER, folder_kinds=(STUDY_KIND,), signature=is_study_output)
        files.append(folder / name)
    images: list[Path] = []
    if plots:
        from calibprune.study.plots import write_plots

        images = write_plots(summary, folder / "plots", comparisons)
        files += images
    if tensorboard:
        from calibprune.study.hparams import write_hparams

        files.append(write_hparams(records, folder / "tensorboard"))
    from calibprune.study.cells import dense_id

    owner = dense_id(spec) if spec is not None else None
    throughput = throughput_table(read_records(folder, partial=True), owner)
    text = markdown_report(
        summary, records, done, expected, images, comparisons, findings, analysis, throughput, others
    )
    write_text(folder / "report.md", text, PARAMETER, folder_kinds=(STUDY_KIND,), signature=is_study_output)
    files.append(folder / "report.md")
    log.info("report of %s: %s", folder, ", ".join(str(p) for p in files))
    return Report(summary, files, done, expected, comparisons, findings)
