"""The paper's findings judged from synthetic results whose answer is known."""

from calibprune.study.aggregate import summarise
from calibprune.study.findings import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, judge_findings
from calibprune.study.report import findings_markdown
from tests.study.synthetic import study


def labels(records):
    findings = judge_findings(summarise(records), records)
    return {(f.number, f.statement.split(" ")[0], f.evidence.split(" ")[0]): f.label for f in findings}, findings


PAPER_LIKE = [
    ("C4", ["c4"], 0.5, 3.4),
    ("Pile", ["pile"], 0.65, 3.25),
    ("GSM8K", ["gsm8k"], 0.5, 3.4),
    ("GSM8K (zero-shot)", ["gsm8k"], 0.3, 3.9, "zero-shot"),
    ("ellipses", ["ellipses"], 0.2, 6.0),
    ("C4 short", ["c4"], 0.4, 3.6, "icl", None, 16, 64),
]


def test_a_paper_like_study_reproduces_the_findings():
    found, findings = labels(study(PAPER_LIKE))
    assert found[(1, "C4", "Average")] == REPRODUCED and found[(1, "C4", "wikitext")] == REPRODUCED
    assert found[(2, "Arithmetic", "Average")] == REPRODUCED  # equal to C4: equivalent within the margin
    assert found[(4, "ICL", "Average")] == REPRODUCED
    assert found[(5, "Nonsense", "Average")] == REPRODUCED
    assert found[(5, "Longer", "wikitext")] == REPRODUCED
    text = findings_markdown(findings)
    assert "### 1. C4 is not the best" in text and "Pile vs c4" in text and "Holm" in text
    assert "### 3. A task's own data" in text and "**not tested**" not in text
    assert findings_markdown([]).count("**not tested**") == 5


def test_opposite_results_are_not_reproduced_and_noise_is_inconclusive():
    flipped = [("C4", ["c4"], 0.6, 3.3), ("Pile", ["pile"], 0.45, 3.5), ("GSM8K", ["gsm8k"], 0.3, 3.8)]
    found, _ = labels(study(flipped))
    assert found[(1, "C4", "Average")] == NOT_REPRODUCED and found[(2, "Arithmetic", "wikitext")] == NOT_REPRODUCED
    noisy = [("C4", ["c4"], 0.5, 3.4), ("Pile", ["pile"], 0.505, 3.4)]
    found, _ = labels(study(noisy, seeds=(0,)))
    assert found[(1, "C4", "Average")] in (INCONCLUSIVE, NOT_REPRODUCED)
    assert found[(1, "C4", "Average")] != REPRODUCED


def test_own_task_data_finding():
    sets = [("C4", ["c4"], 0.6, 3.3), ("BoolQ", ["boolq"], 0.4, 3.5), ("e-SNLI", ["esnli"], 0.45, 3.5)]
    found, findings = labels(study(sets))
    own = next(f for f in findings if f.number == 3)
    assert own.combine == "any" and {c.comparison.task for c in own.claims} == {"boolq", "esnli"}
    assert own.label == REPRODUCED
