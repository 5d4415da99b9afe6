"""The paper's findings, each tested on a study's results and labelled reproduced / not reproduced / inconclusive.

Columns are recognised from their calibration parameters (sources, format, options), not their titles, so any
study holding the right sets is judged. Every finding is a set of *claims*, each a comparison of two columns
(:func:`calibprune.study.compare.compare`) with the paper's expected outcome:

- ``better``: ``a`` beats ``b``. Reproduced when the difference is significant that way; not reproduced when
  it is significant the other way, or when ``a`` and ``b`` are shown equivalent (the difference's 95% interval
  inside ± the margin); inconclusive otherwise.
- ``not worse``: ``a`` is as good as or better than ``b``. Reproduced when ``a`` is significantly better or the
  two are equivalent; not reproduced when ``a`` is significantly worse; inconclusive otherwise.

Significant: every test that could run (over items, over seeds) has a Holm-adjusted p below alpha, the family
being the claims of one finding on one evidence row and method. Equivalence margins: ``accuracy_margin``
(absolute) and ``perplexity_margin`` (relative; ``log(1 + margin)`` in mean NLL for the item test). Each claim
is judged on two evidence rows: the average accuracy (the paper's measure) and the first perplexity row.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from calibprune.study.aggregate import AVERAGE, Row, Stat, Summary
from calibprune.study.compare import Comparison, ItemData, adjust, compare
from calibprune.study.spec import AnalysisSpec

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_TESTED = "reproduced", "not reproduced", "inconclusive", "not tested"
PRETRAINING = ("c4", "pile", "redpajama", "oscar")
ARITHMETIC = ("gsm8k", "svamp", "mawps")
NLI = ("esnli", "anli_r1", "anli_r2", "anli_r3", "rte")
# The findings, and the calibration sets each needs (reported as "not tested" when a study lacks them).
FINDINGS = {
    1: ("C4 is not the best calibration set; the Pile is the best pre-training set", "C4 and the Pile"),
    2: ("Arithmetic data calibrates as well as or better than pre-training data", "C4 and GSM8K, SVAMP or MAWPS"),
    3: ("A task's own data does not necessarily help that task most", "a task's own set and another set"),
    4: (
        "ICL helps every category; CoT helps only arithmetic tasks",
        "GSM8K or e-SNLI in ICL and zero-shot (or ICL w/ CoT) formats",
    ),
    5: (
        "Longer calibration sequences and more in-context pairs help; nonsense data hurts",
        "C4 and ellipses/random strings, C4 at several seqlen, or GSM8K with num_incontext",
    ),
}


@dataclass
class Claim:
    """One comparison behind a finding, with its label."""

    text: str
    expected: str
    comparison: Comparison
    label: str = INCONCLUSIVE
    reason: str = ""
    reference_mean: float = 0.0


@dataclass
class Finding:
    """One finding of the paper, judged on one evidence row for one method."""

    number: int
    statement: str
    method: str
    evidence: str
    claims: list[Claim] = field(default_factory=list)
    combine: str = "all"

    @property
    def label(self) -> str:
        """All claims reproduced (``any`` for existence findings); any not reproduced; else inconclusive."""
        labels = [c.label for c in self.claims]
        if not labels:
            return NOT_TESTED
        if self.combine == "any":
            if REPRODUCED in labels:
                return REPRODUCED
            return NOT_REPRODUCED if all(x == NOT_REPRODUCED for x in labels) else INCONCLUSIVE
        if NOT_REPRODUCED in labels:
            return NOT_REPRODUCED
        return REPRODUCED if all(x == REPRODUCED for x in labels) else INCONCLUSIVE


@dataclass(frozen=True)
class ColumnInfo:
    """What a column calibrates on."""

    key: tuple
    sources: tuple[str, ...]
    format: str
    options: tuple

    @property
    def plain(self) -> str | None:
        """The single source of a plain set (one source, no options), else ``None``."""
        return self.sources[0] if len(self.sources) == 1 and not self.options else None


def _columns(records: list[dict[str, Any]]) -> dict[tuple, ColumnInfo]:
    from calibprune.study.aggregate import AXES

    out = {}
    for record in records:
        calibration = (record.get("params") or {}).get("calibration")
        if record["kind"] != "cell" or not calibration:
            continue
        key = tuple(record["labels"][axis] for axis in AXES)
        options = tuple(sorted((calibration.get("options") or {}).items()))
        if calibration.get("weights"):
            options += (("weights", tuple(calibration["weights"])),)
        out[key] = ColumnInfo(key, tuple(calibration.get("sources") or ()), calibration.get("format", "icl"), options)
    return out


def _equivalent(c: Comparison, margin_acc: float, margin_ppl: float, reference_mean: float) -> bool:
    if c.item is not None and c.item.low is not None:
        margin = math.log1p(margin_ppl) if c.metric == "ppl" else margin_acc
        return -margin < c.item.low and c.item.high < margin
    if c.seed is not None and c.seed.low is not None:
        margin = margin_ppl * reference_mean if c.metric == "ppl" else margin_acc
        return -margin < c.seed.low and c.seed.high < margin
    return False


def _judge(claim: Claim, analysis: AnalysisSpec) -> None:
    c = claim.comparison
    claim.label = INCONCLUSIVE
    equivalent = _equivalent(c, analysis.accuracy_margin, analysis.perplexity_margin, claim.reference_mean)
    tests = ", ".join(
        f"{t.test} p={t.p_value:.3g} (Holm {p:.3g})" for t, p in ((c.item, c.item_p_holm), (c.seed, c.seed_p_holm)) if t
    )
    if c.difference == 0:
        claim.reason = f"{c.a_title} equal to {c.b_title}; {tests or 'no test'}"
    else:
        direction = "better" if c.better else "worse"
        claim.reason = f"{c.a_title} {direction} than {c.b_title} by {abs(c.difference):.4g}; {tests or 'no test'}"
    if claim.expected == "better":
        if c.significant:
            claim.label = REPRODUCED if c.better else NOT_REPRODUCED
        elif equivalent:
            claim.label, claim.reason = NOT_REPRODUCED, claim.reason + "; equivalent within the margin"
    elif c.significant:  # "not worse"
        claim.label = REPRODUCED if c.better else NOT_REPRODUCED
    elif equivalent:
        claim.label, claim.reason = REPRODUCED, claim.reason + "; equivalent within the margin"
    if not c.item and not c.seed:
        claim.label = INCONCLUSIVE


class _Judge:
    def __init__(self, summary: Summary, records: list[dict[str, Any]], analysis: AnalysisSpec) -> None:
        self.summary, self.analysis = summary, analysis
        self.data = ItemData.from_records(records)
        self.info = _columns(records)
        settings = Counter((k[0], k[2], k[3]) for k in self.info)
        self.main = {}
        for (method, nsamples, seqlen), _ in settings.most_common():
            self.main.setdefault(method, (nsamples, seqlen))

    def find(
        self, method: str, source: str, format: str = "icl", setting: tuple | None = None, options: tuple = ()
    ) -> tuple | None:
        nsamples, seqlen = setting or self.main[method]
        for key, info in self.info.items():
            if (
                (key[0], key[2], key[3]) == (method, nsamples, seqlen)
                and info.sources == (source,)
                and info.format == format
                and info.options == options
            ):
                return key
        return None

    def evidence_rows(self) -> list[Row]:
        rows = [r for r in self.summary.rows if r.task == AVERAGE]
        return rows + [r for r in self.summary.rows if r.metric == "ppl"][:1]

    def subset_average(self, tasks: tuple[str, ...], title: str) -> Row | None:
        rows = [r for r in self.summary.rows if r.task in tasks and r.task != AVERAGE]
        if not rows:
            return None
        wanted = [(r.task, r.metric) for r in rows]
        row = Row(title, "acc", None)
        for key in {c.key for c in self.summary.columns}:
            by_seed = self.data.seed_values(key, wanted)
            if by_seed:
                row.cells[key] = Stat([by_seed[s] for s in sorted(by_seed, key=str)])
        return row

    def claims(
        self,
        number: int,
        statement: str,
        method: str,
        row: Row,
        pairs: list[tuple[str, str, tuple | None, tuple | None]],
        combine: str = "all",
        wanted: list | None = None,
    ) -> Finding:
        finding = Finding(number, statement, method, f"{row.task} ({row.metric})", combine=combine)
        for text, expected, a, b in pairs:
            if a is None or b is None or a not in row.cells or b not in row.cells:
                continue
            comparison = compare(
                self.summary, self.data, row, a, b, self.analysis.resamples, alpha=self.analysis.alpha, wanted=wanted
            )
            finding.claims.append(Claim(text, expected, comparison, reference_mean=row.cells[b].mean))
        adjust([c.comparison for c in finding.claims])
        for claim in finding.claims:
            _judge(claim, self.analysis)
        return finding


def judge_findings(
    summary: Summary, records: list[dict[str, Any]], analysis: AnalysisSpec | None = None
) -> list[Finding]:
    """Test the paper's five findings on a study's records (those its columns allow; the rest: not tested)."""
    analysis = analysis or AnalysisSpec()
    j = _Judge(summary, records, analysis)
    out: list[Finding] = []
    for method in dict.fromkeys(k[0] for k in j.info):
        c4, pile = j.find(method, "c4"), j.find(method, "pile")
        for row in j.evidence_rows():
            out.append(
                j.claims(
                    1,
                    "C4 is not the best calibration set; the Pile is the best pre-training set",
                    method,
                    row,
                    [
                        (f"Pile vs {name}", "better", pile, j.find(method, name))
                        for name in PRETRAINING
                        if name != "pile"
                    ],
                )
            )
            out.append(
                j.claims(
                    2,
                    "Arithmetic data calibrates as well as or better than pre-training data",
                    method,
                    row,
                    [(f"{name} (ICL) vs C4", "not worse", j.find(method, name), c4) for name in ARITHMETIC],
                )
            )
            pairs = []
            for name in ("gsm8k", "esnli"):
                pairs.append(
                    (f"{name}: ICL vs zero-shot", "better", j.find(method, name), j.find(method, name, "zero-shot"))
                )
            out.append(j.claims(4, "ICL helps every category (ICL beats zero-shot)", method, row, pairs))
            nonsense = [(f"C4 vs {name}", "better", c4, j.find(method, name)) for name in ("ellipses", "random")]
            out.append(j.claims(5, "Nonsense calibration data hurts", method, row, nonsense))
            scan = sorted(
                (
                    k
                    for k, i in j.info.items()
                    if k[0] == method and i.plain == "c4" and i.format == "icl" and k[2] == j.main[method][0]
                ),
                key=lambda k: k[3],
            )
            if len(scan) > 1:
                out.append(
                    j.claims(
                        5,
                        "Longer calibration sequences help",
                        method,
                        row,
                        [(f"C4 seqlen {scan[-1][3]} vs {scan[0][3]}", "better", scan[-1], scan[0])],
                    )
                )
            pairs_k = sorted(
                (i.options[0][1], k)
                for k, i in j.info.items()
                if k[0] == method
                and i.sources == ("gsm8k",)
                and len(i.options) == 1
                and i.options[0][0] == "num_incontext"
                and (k[2], k[3]) == j.main[method]
            )
            fill = j.find(method, "gsm8k")
            if pairs_k:
                out.append(
                    j.claims(
                        5,
                        "More in-context pairs help",
                        method,
                        row,
                        [(f"GSM8K filled window vs {pairs_k[0][0]} pairs", "better", fill, pairs_k[0][1])],
                    )
                )
        for title, tasks, source in (("arithmetic tasks", ARITHMETIC, "gsm8k"), ("NLI tasks", NLI, "esnli")):
            row = j.subset_average(tasks, f"Average over {title}")
            if row is None:
                continue
            wanted = [(r.task, r.metric) for r in summary.rows if r.task in tasks]
            expected = "better" if source == "gsm8k" else "not worse"
            a, b = (
                (j.find(method, source, "icl-cot"), j.find(method, source))
                if source == "gsm8k"
                else (j.find(method, source), j.find(method, source, "icl-cot"))
            )
            text = "GSM8K: ICL w/ CoT vs ICL" if source == "gsm8k" else "e-SNLI: ICL vs ICL w/ CoT"
            out.append(
                j.claims(4, "CoT helps only arithmetic tasks", method, row, [(text, expected, a, b)], wanted=wanted)
            )
        own = []
        for row in summary.rows:
            mine = j.find(method, row.task)
            others = [k for k in row.cells if k != mine and k[0] == method and (k[2], k[3]) == j.main[method]]
            if mine is None or mine not in row.cells or not others:
                continue
            pick = min if row.lower_is_better else max
            best = pick(others, key=lambda k: row.cells[k].mean)
            finding = j.claims(
                3,
                "A task's own data does not necessarily help that task most",
                method,
                row,
                [(f"{row.task}: best other set vs own", "not worse", best, mine)],
            )
            own += finding.claims
        if own:
            finding = Finding(
                3,
                "A task's own data does not necessarily help that task most",
                method,
                "each task with its own calibration set (own row)",
                own,
                combine="any",
            )
            adjust([c.comparison for c in own])
            for claim in own:
                _judge(claim, analysis)
            out.append(finding)
    return sorted([f for f in out if f.claims], key=lambda f: f.number)
