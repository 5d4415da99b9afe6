"""A tiny study: the 2-block random Llama, a local data folder with c4, wikitext and boolq, a 2x2 grid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calibprune.study.spec import CalibrationEntry, EvaluationSpec, GridSpec, ModelEntry, StudySpec


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


@pytest.fixture(scope="session")
def study_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("study-data")
    write_jsonl(
        root / "c4" / "train.jsonl",
        [{"text": f"Document {i}. " + " ".join(f"word{i}x{j}" for j in range(40))} for i in range(40)],
    )
    write_jsonl(
        root / "wikitext" / "test.jsonl",
        [{"text": f" Line {i} of the article , about cats and dogs .\n"} for i in range(200)],
    )
    rows = [
        {"question": f"is {i} even", "passage": f"The number {i}.", "answer": i % 2 == 0, "title": "t"}
        for i in range(12)
    ]
    write_jsonl(root / "boolq" / "train.jsonl", rows)
    write_jsonl(root / "boolq" / "test.jsonl", rows)
    return root


@pytest.fixture
def tiny_spec(tiny_llama_dir, study_data, tmp_path, monkeypatch) -> StudySpec:
    """2 calibration sources x 2 seeds, evaluated on 2 tasks (wikitext perplexity and boolq)."""
    monkeypatch.setenv("CALIBPRUNE_CACHE", str(tmp_path / "cache"))  # the dense result cache
    return StudySpec(
        model=ModelEntry(str(tiny_llama_dir)),
        grid=GridSpec(
            calibration=[CalibrationEntry(["c4"]), CalibrationEntry(["random"], name="Random")],
            nsamples=[4],
            seqlen=[32],
            seeds=[0, 1],
            batch_size=4,
        ),
        evaluation=EvaluationSpec(
            tasks=["wikitext", "boolq"], seqlen=32, batch_size=4, limit=6, limits={"boolq": 5}, num_fewshot=1
        ),
        data_dir=str(study_data),
        output_dir=str(tmp_path / "study"),
        name="tiny study",
    )
