"""Paired comparisons against the reference set on synthetic per-item records."""

import pytest

from calibprune.study import stats
from calibprune.study.aggregate import summarise
from calibprune.study.compare import ItemData, reference_comparisons
from calibprune.study.tables import markdown_table
from tests.study.synthetic import study


def by(comparisons, title, task):
    return next(c for c in comparisons if c.a_title == title and c.task == task)


def test_a_clearly_better_set_is_significant_over_items_and_seeds():
    records = study(
        [
            ("C4", ["c4"], 0.5, 3.4),
            ("Pile", ["pile"], 0.7, 3.2),
            ("Same", ["c4"], 0.5, 3.4, "icl", {"text_field": "text"}),
        ]
    )
    summary = summarise(records)
    comparisons = reference_comparisons(summary, records, "c4")
    pile = by(comparisons, "Pile", "boolq")
    assert pile.b_title == "C4" and pile.better and pile.item.test == "paired bootstrap"
    assert pile.seed.test == "paired t" and pile.item_significant and pile.seed_significant and pile.marks == "*†"
    ppl = by(comparisons, "Pile", "wikitext")
    assert (
        ppl.metric == "ppl"
        and ppl.better
        and ppl.difference < 0
        and ppl.item.difference == pytest.approx(-0.2, abs=0.03)
    )
    average = by(comparisons, "Pile", "Average")
    assert average.item.n == 3 * 300 and average.item_significant
    table = markdown_table(summary, comparisons)
    assert "| C4 (ref) |" in table.splitlines()[0] and "\\*†" in table


def test_holm_is_applied_within_each_family():
    records = study([("C4", ["c4"], 0.5, 3.4), ("A", ["a.txt"], 0.52, 3.4), ("B", ["b.txt"], 0.51, 3.41)])
    comparisons = reference_comparisons(summarise(records), records, "c4")
    family = [c for c in comparisons if c.task == "boolq"]
    assert len(family) == 2
    assert [c.item_p_holm for c in family] == pytest.approx(stats.holm([c.item.p_value for c in family]))
    assert [c.seed_p_holm for c in family] == pytest.approx(stats.holm([c.seed.p_value for c in family]))


def test_single_seed_accuracy_uses_mcnemar_and_no_seed_test():
    records = study([("C4", ["c4"], 0.5, 3.4), ("Pile", ["pile"], 0.6, 3.3)], seeds=(0,))
    comparisons = reference_comparisons(summarise(records), records, "c4")
    boolq = by(comparisons, "Pile", "boolq")
    data = ItemData.from_records(records)
    a, _ = data.item_means(boolq.a, ("boolq", "acc"))
    b, _ = data.item_means(boolq.b, ("boolq", "acc"))
    assert boolq.item.test == "McNemar exact" and boolq.item.p_value == stats.mcnemar_exact(a, b).p_value
    assert boolq.seed is None and "†" not in boolq.marks
    assert by(comparisons, "Pile", "wikitext").item.test == "paired bootstrap"


def test_unmatched_seeds_use_welch_and_missing_items_skip_the_item_test():
    records = (
        study([("C4", ["c4"], 0.5, 3.4)], seeds=(0, 1, 2)) + study([("Pile", ["pile"], 0.6, 3.3)], seeds=(3, 4))[1:]
    )
    for record in records:
        for result in record["results"]:
            if record["kind"] == "cell" and record["labels"]["calibration"] == "Pile" and result["task"] == "boolq":
                result["per_item"] = None
    comparisons = reference_comparisons(summarise(records), records, "c4")
    boolq = by(comparisons, "Pile", "boolq")
    assert boolq.seed.test == "Welch t" and boolq.item is None


def test_no_reference_no_comparisons():
    records = study([("Pile", ["pile"], 0.6, 3.3), ("RP", ["redpajama"], 0.6, 3.3)])
    assert reference_comparisons(summarise(records), records, "c4") == []
    assert reference_comparisons(summarise(records), records, "Pile")
