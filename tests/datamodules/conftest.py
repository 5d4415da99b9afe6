"""A tiny local data folder laid out like ../shared/data, so unit tests run without it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def gsm8k_record(i: int) -> dict:
    steps = 1 + i % 4
    lines = [f"Step {s}: {i} + {s} = <<{i}+{s}={i + s}>>{i + s} apples." for s in range(steps)]
    return {
        "question": f"Problem {i}: how many apples does Ann have?",
        "answer": "\n".join(lines) + f"\n#### {i + steps}",
    }


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_jsonl(root / "gsm8k" / "train.jsonl", [gsm8k_record(i) for i in range(40)])
    write_jsonl(
        root / "anli_r1" / "train.jsonl",
        [
            {
                "uid": str(i),
                "premise": f"Premise {i}.",
                "hypothesis": f"Hypothesis {i}.",
                "label": i % 3,
                "reason": "fooled",
            }
            for i in range(20)
        ],
    )
    write_jsonl(
        root / "c4" / "train.jsonl",
        [
            {"text": f"Document {i}. " + " ".join(f"word{i}x{j}" for j in range(40)), "url": "u", "timestamp": "t"}
            for i in range(60)
        ],
    )
    write_jsonl(
        root / "wikitext" / "test.jsonl",
        [
            {"text": ""},
            {"text": " = Title = \n"},
            {"text": ""},
            *({"text": f" Line {i} of the article , with words .\n"} for i in range(300)),
        ],
    )
    return root
