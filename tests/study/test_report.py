import json
import statistics

import pytest

from calibprune.study.aggregate import summarise
from calibprune.study.cells import Shard
from calibprune.study.report import write_report
from calibprune.study.store import append_record, read_records, results_path
from calibprune.study.tables import markdown_table

PPL = {("C4", 0): 20.0, ("C4", 1): 22.0, ("C4", 2): 21.0, ("Pile", 0): 18.0, ("Pile", 1): 19.5, ("Pile", 2): 18.1}
ACC = {("C4", 0): 0.40, ("C4", 1): 0.44, ("C4", 2): 0.42, ("Pile", 0): 0.38, ("Pile", 1): 0.37, ("Pile", 2): 0.36}


def cell_record(index: int, calibration: str, seed: int, method: str = "Wanda 50%") -> dict:
    results = [
        {
            "task": "wikitext",
            "metric": "ppl",
            "value": PPL[calibration, seed],
            "stderr": 0.1,
            "n": 8,
            "num_fewshot": None,
        },
        {"task": "wikitext", "metric": "nll", "value": 3.0, "stderr": 0.1, "n": 8, "num_fewshot": None},
        {"task": "boolq", "metric": "acc", "value": ACC[calibration, seed], "stderr": 0.05, "n": 50, "num_fewshot": 3},
        {"task": "boolq", "metric": "acc_norm", "value": 0.5, "stderr": 0.05, "n": 50, "num_fewshot": 3},
        {
            "task": "gsm8k",
            "metric": "exact_match",
            "value": 0.1 + seed / 100,
            "stderr": 0.01,
            "n": 50,
            "num_fewshot": 8,
        },
    ]
    labels = {"method": method, "calibration": calibration, "nsamples": 16, "seqlen": 256, "seed": seed}
    params = {
        "method": {"method": "Wanda", "sparsity_ratio": 0.5, "sparsity_type": "unstructured"},
        "calibration": {"sources": [calibration.lower()], "format": "icl"},
    }
    return {
        "kind": "cell",
        "id": f"{method}-{calibration}-{seed}",
        "index": index,
        "labels": labels,
        "params": params,
        "results": results,
        "study": "synthetic",
        "timings": {"prune_s": 1.0, "evaluate_s": 2.0},
    }


def dense_record() -> dict:
    return {
        "kind": "dense",
        "id": "dense",
        "study": "synthetic",
        "results": [
            {"task": "wikitext", "metric": "ppl", "value": 15.0, "stderr": 0.1, "n": 8, "num_fewshot": None},
            {"task": "boolq", "metric": "acc", "value": 0.5, "stderr": 0.05, "n": 50, "num_fewshot": 3},
            {"task": "gsm8k", "metric": "exact_match", "value": 0.2, "stderr": 0.05, "n": 50, "num_fewshot": 8},
        ],
    }


def records() -> list[dict]:
    cells = [
        cell_record(i, calibration, seed)
        for i, (calibration, seed) in enumerate((c, s) for c in ("C4", "Pile") for s in range(3))
    ]
    return [dense_record(), *cells]


def test_rows_are_tasks_columns_calibration_sets_with_sample_std():
    summary = summarise(records())
    assert [c.title for c in summary.columns] == ["C4", "Pile"]
    assert [(r.task, r.metric) for r in summary.rows] == [
        ("wikitext", "ppl"),
        ("boolq", "acc"),
        ("gsm8k", "exact_match"),
        ("Average", "acc"),
    ]
    ppl = summary.rows[0]
    c4 = [PPL["C4", s] for s in range(3)]
    assert ppl.cells[summary.columns[0].key].mean == pytest.approx(statistics.fmean(c4))
    assert ppl.cells[summary.columns[0].key].two_std == pytest.approx(2 * statistics.stdev(c4))  # ddof=1
    assert ppl.dense == 15.0
    assert ppl.best == {summary.columns[1].key}  # lowest perplexity
    assert summary.rows[1].best == {summary.columns[0].key}  # highest accuracy
    average = summary.rows[-1]
    per_seed = [(ACC["C4", s] + 0.1 + s / 100) / 2 for s in range(3)]
    assert average.cells[summary.columns[0].key].mean == pytest.approx(statistics.fmean(per_seed))
    assert average.cells[summary.columns[0].key].two_std == pytest.approx(2 * statistics.stdev(per_seed))
    assert average.dense == pytest.approx(0.35)


def test_markdown_marks_best_and_shows_the_t_interval():
    table = markdown_table(summarise(records()))
    lines = table.splitlines()
    assert lines[0] == "| Evaluation | metric | Dense | C4 | Pile |"
    t = 4.302652729911275  # t_{0.975, 2}
    half = t * statistics.stdev([PPL["Pile", s] for s in range(3)]) / 3**0.5
    assert f"| wikitext | ppl | 15.00 | 21.00 ± {t / 3**0.5:.2f} | **18.53 ± {half:.2f}** |" in lines


def test_best_is_marked_per_method():
    both = records() + [
        dict(cell_record(10 + i, c, s, method="SparseGPT 50%"), id=f"s-{c}-{s}")
        for i, (c, s) in enumerate((c, s) for c in ("C4", "Pile") for s in range(3))
    ]
    summary = summarise(both)
    assert [c.title for c in summary.columns] == [
        "Wanda 50% / C4",
        "Wanda 50% / Pile",
        "SparseGPT 50% / C4",
        "SparseGPT 50% / Pile",
    ]
    assert len(summary.rows[0].best) == 2


def test_shards_merge_and_duplicates_and_torn_lines_are_dropped(tmp_path):
    shards = [Shard(0, 2), Shard(1, 2)]
    for i, record in enumerate(records()):
        append_record(results_path(tmp_path, shards[i % 2]), record)
    append_record(results_path(tmp_path, shards[0]), records()[1])  # the same cell recorded twice
    with results_path(tmp_path, shards[1]).open("a") as handle:
        handle.write('{"kind": "cell", "id": "torn')  # a record cut short by a kill
    merged = read_records(tmp_path)
    assert len(merged) == 7
    assert json.loads(results_path(tmp_path, shards[0]).read_text().splitlines()[0])["kind"] == "dense"


def test_report_writes_tables_plots_and_tensorboard(tmp_path):
    pytest.importorskip("matplotlib")
    for record in records():
        append_record(results_path(tmp_path), record)
    report = write_report(tmp_path)
    names = {p.name for p in report.files}
    assert {
        "table.md",
        "table.csv",
        "summary.csv",
        "tasks.png",
        "average.png",
        "perplexity.png",
        "tensorboard",
        "report.md",
    } <= names
    assert (tmp_path / "plots" / "tasks.png").read_bytes()[:4] == b"\x89PNG"
    assert len(list((tmp_path / "tensorboard").rglob("events.out.tfevents.*"))) >= 6
    csv_lines = (tmp_path / "table.csv").read_text().splitlines()
    assert csv_lines[0] == ("task,metric,dense,C4,C4 ci_low,C4 ci_high,C4 2std,Pile,Pile ci_low,Pile ci_high,Pile 2std")
    assert "![tasks](plots/tasks.png)" in (tmp_path / "report.md").read_text()


def test_report_of_an_empty_folder_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results"):
        write_report(tmp_path)


def test_report_projects_the_time_of_the_cells_left(tmp_path):
    from calibprune.study.report import _timings

    cells = [r for r in records() if r["kind"] == "cell"]
    assert "Projected for the 4 cells left: 0.0 h" in _timings(cells, expected=10)  # 3 s a cell
    assert "Projected" not in _timings(cells, expected=6)
    dense = {"kind": "dense", "timings": {"evaluate_s": 3600.0}}
    assert "Projected for the 6 cells left: 6.0 h" in _timings([dense], expected=6)


def test_throughput_table_from_the_dense_partial_tasks():
    from calibprune.study.report import throughput_table

    partial = [
        {
            "kind": "partial",
            "id": f"d/{t}",
            "owner": "d",
            "task": t,
            "timings": {"evaluate_s": s},
            "results": [{"task": t, "n": 200}],
        }
        for t, s in (("boolq", 100.0), ("rte", 50.0))
    ]
    table = throughput_table(partial, "d")
    assert "| boolq | 200 | 100.0 | 2.00 | - |" in table and "| rte | 200 | 50.0 | 4.00 | - |" in table
    assert throughput_table(partial, "other") == ""


def test_column_titles_show_a_size_only_where_it_differs_from_most_columns():
    from tests.study.synthetic import study

    scan = study(
        [("C4", ["c4"], 0.5, 3.2), ("Pile", ["pile"], 0.5, 3.1), ("C4", ["c4"], 0.5, 3.0, "icl", None, 16, 1024)]
    )
    assert [c.title for c in summarise(scan).columns] == ["C4", "Pile", "C4 / 16 x 1024"]
    crossed = study([("C4", ["c4"], 0.5, 3.2, "icl", None, n, 64) for n in (8, 16)])
    assert [c.title for c in summarise(crossed).columns] == ["C4 / 8 x 64", "C4 / 16 x 64"]
