"""The validation's bookkeeping: ground truth from study records, predictions from advice, hit rates and costs."""

from __future__ import annotations

import json
import math

import pytest

from calibprune.advisor.validate import candidate_spec, main


def _cell(sources, fmt, seed, wikitext, c4, seconds=10.0):
    return {
        "kind": "cell",
        "id": f"{sources}{fmt}{seed}",
        "labels": {"calibration": "+".join(sources)},
        "params": {"calibration": {"sources": sources, "format": fmt}, "seed": seed},
        "timings": {"prune_s": seconds, "evaluate_s": seconds},
        "results": [
            {"task": "wikitext", "metric": "nll", "per_item": [math.log(wikitext)] * 2},
            {"task": "c4", "metric": "nll", "per_item": [math.log(c4)] * 2},
        ],
    }


def _row(candidate, wikitext, c4):
    per_target = {"wikitext": {"reconstruction": wikitext}, "c4": {"reconstruction": c4}}
    proxies = {
        "reconstruction": math.sqrt(wikitext * c4),
        "statistics": 1.0,
        "coverage": 1.0,
        "diversity": 1.0,
        "lexical": -wikitext,
        "likelihood": 0.0,
        "combined": 1.0,
    }
    for name in ("statistics", "coverage", "combined"):
        for target in per_target.values():
            target[name] = 1.0
    return {"candidate": candidate, "proxies": proxies, "per_target": per_target}


def test_candidate_spec():
    assert candidate_spec({"sources": ["c4", "gsm8k"], "format": "icl"}) == "c4+gsm8k"
    assert candidate_spec({"sources": ["boolq"], "format": "zero-shot"}) == "boolq@zero-shot"


def test_validation_report(tmp_path):
    study = tmp_path / "study"
    study.mkdir()
    records = [{"kind": "dense", "id": "d", "timings": {"evaluate_s": 20.0}, "results": []}]
    truth = {"c4": (50, 40), "gsm8k": (60, 55), "ellipses": (900, 800), "random": (100, 90)}
    for seed in range(3):
        for spec, (w, c) in truth.items():
            records.append(_cell([spec], "icl", seed, w + seed, c + seed))
    (study / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    advice = tmp_path / "advice.json"
    # Reconstruction orders wikitext perfectly, c4 with the two best swapped.
    rows = [_row("c4", 1.0, 2.0), _row("gsm8k", 2.0, 1.0), _row("ellipses", 9.0, 9.0), _row("random", 3.0, 3.0)]
    seconds = {
        "load": 1.0,
        "targets": 1.0,
        "sample": 1.0,
        "capture": 0.5,
        "prune_probe": 2.0,
        "dense_pass": 1.0,
        "lexical": 0.1,
        "likelihood": 3.0,
        "total": 9.6,
    }
    advice.write_text(json.dumps({"rows": rows, "seconds": seconds}))
    out = tmp_path / "out"
    main(["--study", str(study), "--advice", str(advice), "--output_dir", str(out), "--draws", "50"])
    report = json.loads((out / "validation.json").read_text())
    study_seconds = 20.0 + 12 * 20.0
    assert report["study_seconds"] == pytest.approx(study_seconds)
    wikitext = report["results"]["wikitext"]["reconstruction"]
    assert wikitext["spearman"] == pytest.approx(1.0) and wikitext["top1"] == 1.0
    c4 = report["results"]["c4"]["reconstruction"]
    assert c4["spearman"] == pytest.approx(0.8) and c4["top1"] == 0.0 and c4["top3"] == 1.0
    assert c4["cost_fraction"] == pytest.approx((1 + 1 + 1 + 0.5 + 2.0) / study_seconds)
    assert report["results"]["wikitext"]["lexical"]["spearman"] == pytest.approx(-1.0)
    assert report["truth"]["c4"]["wikitext"] == pytest.approx(51.0)
    assert (out / "validation.md").is_file() and (out / "validation.png").is_file()
