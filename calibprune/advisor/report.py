"""The advice: a ranked table of candidates (console, Markdown, CSV, JSON) and a plot."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from calibprune.errors import OptionError
from calibprune.files import owner
from calibprune.files.atomic import check_file, write_text, write_with

NAMES = ("advice.md", "advice.csv", "advice.json", "advice.png")
PARAMETER = "output_dir"
ACCEPTED = "a folder without advice files, or one holding an advice calibprune wrote (with --overwrite true)"


def is_advice_folder_file(path: Path) -> bool:
    """Whether ``path`` lies beside an ``advice.json`` calibprune wrote (the mark of an advice folder)."""
    advice = json.loads((path.parent / "advice.json").read_text(encoding="utf-8"))
    return isinstance(advice, dict) and {"proxy", "targets", "settings", "rows", "seconds"} <= set(advice)


def check_advice_folder(folder: str | Path, overwrite: bool) -> None:
    """Fail before any work when the advice would replace files other than an advice calibprune wrote.

    Those are replaced only with ``overwrite``.

    Raises:
        OptionError: naming ``output_dir`` (and ``overwrite``) and what it accepts.
    """
    folder = Path(folder)
    existing = [name for name in NAMES if (folder / name).exists()]
    if existing and not overwrite:
        raise OptionError(PARAMETER, f"{str(folder)!r} already holds an advice; pass --overwrite true", ACCEPTED)
    for name in NAMES:
        check_file(folder / name, PARAMETER, ACCEPTED, signature=is_advice_folder_file)


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


def _csv_text(advice: Advice) -> str:
    proxies = list(advice.rows[0].proxies) if advice.rows else []
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["rank", "candidate", "score", "low", "high", "p_best", *proxies, "seconds"])
    for r in advice.rows:
        writer.writerow(
            [r.rank, r.candidate, r.score, *r.interval, r.p_best, *(r.proxies[p] for p in proxies), r.seconds]
        )
    return buffer.getvalue()


def write_advice(advice: Advice, folder: str | Path, plot: bool = True) -> list[Path]:
    """Write ``advice.{md,csv,json}`` (and ``advice.png``) into ``folder``; return the paths.

    ``advice.json`` goes last: it is what marks the folder's advice files as calibprune's.
    """
    folder = owner.make_folder(folder, PARAMETER, scratch=True)
    options = {"accepted": ACCEPTED, "signature": is_advice_folder_file}
    md = folder / "advice.md"
    text = "\n".join(
        [
            f"# Calibration advice: {', '.join(advice.targets)}",
            "",
            f"Proxy `{advice.proxy}` (lower is better); settings: `{json.dumps(advice.settings)}`",
            "",
            *table_lines(advice, markdown=True),
            "",
        ]
    )
    write_text(md, text, PARAMETER, **options)
    out = write_text(folder / "advice.csv", _csv_text(advice), PARAMETER, **options)
    png = [plot_advice(advice, folder / "advice.png")] if plot else []
    js = write_text(folder / "advice.json", json.dumps(advice.as_dict(), indent=1, default=float), PARAMETER, **options)
    owner.keep(folder)
    return [md, out, js, *png]


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
    write_with(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"), PARAMETER, signature=is_advice_folder_file)
    plt.close(fig)
    return path
