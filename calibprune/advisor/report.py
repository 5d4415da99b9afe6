"""The advice: a ranked table of candidates (console, Markdown, CSV, JSON) and a plot."""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class AdviceRow:
    """One candidate in the advice.

    Attributes:
        rank: 1 is the predicted best.
        candidate: the candidate's spec.
        score: the default proxy's overall score (lower: better).
        interval: its 95% bootstrap interval over the target sequences.
        p_best: fraction of bootstrap draws in which it is the best.
        proxies: every proxy's overall score.
        per_target: per target, every target proxy's score.
        details: the raw lexical and Min-K% measures.
        seconds: time spent on this candidate.
    """

    rank: int
    candidate: str
    score: float
    interval: tuple[float, float]
    p_best: float
    proxies: dict[str, float]
    per_target: dict[str, dict[str, float]]
    details: dict[str, float]
    seconds: float


@dataclass
class Advice:
    """The whole advice and how it was made."""

    proxy: str
    targets: list[str]
    settings: dict[str, Any]
    rows: list[AdviceRow]
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _fmt(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.4g}"


def table_lines(advice: Advice, markdown: bool = False) -> list[str]:
    """The ranked table, one line per candidate."""
    proxies = list(advice.rows[0].proxies) if advice.rows else []
    header = ["rank", "candidate", f"score ({advice.proxy})", "95% interval", "P(best)", *proxies, "s"]
    body = [
        [
            str(r.rank),
            r.candidate,
            _fmt(r.score),
            f"{_fmt(r.interval[0])}-{_fmt(r.interval[1])}",
            f"{r.p_best:.2f}",
            *(_fmt(r.proxies[p]) for p in proxies),
            f"{r.seconds:.1f}",
        ]
        for r in advice.rows
    ]
    if markdown:
        rule = "|" + "|".join("---:" if i != 1 else "---" for i in range(len(header))) + "|"
        lines = ["| " + " | ".join(header) + " |", rule]
        return lines + ["| " + " | ".join(row) + " |" for row in body]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    return [
        "  ".join(
            cell.ljust(w) if i == 1 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *body]
    ]


def console_text(advice: Advice) -> str:
    """What ``advise`` prints: the ranked table, then what it cost."""
    lines = [f"calibration advice for {', '.join(advice.targets)} (proxy: {advice.proxy}; lower is better)", ""]
    lines += table_lines(advice)
    seconds = advice.seconds
    lines += [
        "",
        f"total {seconds.get('total', 0.0):.1f} s (model load {seconds.get('load', 0.0):.1f} s, "
        f"targets {seconds.get('targets', 0.0):.1f} s)",
    ]
    return "\n".join(lines)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def write_advice(advice: Advice, folder: str | Path, plot: bool = True) -> list[Path]:
    """Write ``advice.{md,csv,json}`` (and ``advice.png``) into ``folder``; return the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    md = folder / "advice.md"
    _write_atomic(
        md,
        "\n".join(
            [
                f"# Calibration advice: {', '.join(advice.targets)}",
                "",
                f"Proxy `{advice.proxy}` (lower is better); settings: `{json.dumps(advice.settings)}`",
                "",
                *table_lines(advice, markdown=True),
                "",
            ]
        ),
    )
    js = folder / "advice.json"
    _write_atomic(js, json.dumps(advice.as_dict(), indent=1, default=float))
    out = folder / "advice.csv"
    proxies = list(advice.rows[0].proxies) if advice.rows else []
    fd, tmp = tempfile.mkstemp(prefix=".advice.csv.", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rank", "candidate", "score", "low", "high", "p_best", *proxies, "seconds"])
        for r in advice.rows:
            writer.writerow(
                [r.rank, r.candidate, r.score, *r.interval, r.p_best, *(r.proxies[p] for p in proxies), r.seconds]
            )
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    paths = [md, out, js]
    if plot:
        paths.append(plot_advice(advice, folder / "advice.png"))
    return paths


def plot_advice(advice: Advice, path: Path) -> Path:
    """A horizontal bar per candidate: predicted score with its bootstrap interval, best at the top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(reversed(advice.rows))
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(rows) + 1.2))
    scores = [r.score for r in rows]
    errors = [[r.score - r.interval[0] for r in rows], [r.interval[1] - r.score for r in rows]]
    ax.barh([r.candidate for r in rows], scores, xerr=errors, color="tab:blue", alpha=0.8)
    ax.set_xlabel(f"{advice.proxy} (lower is better)")
    if all(s > 0 for s in scores) and max(scores) / max(min(scores), 1e-12) > 20:
        ax.set_xscale("log")
    ax.set_title(f"calibration advice: {', '.join(advice.targets)}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
