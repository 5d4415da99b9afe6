"""Task registry, templates and record loading: unit tests on inline records, data tests on ../shared/data."""

from __future__ import annotations

import json

import pytest

from calibprune.tasks import EXEMPLAR_SEPARATOR, TASKS, DataUnavailableError, get_task, load_records
from tests.conftest import shared_source

RECORDS = {
    "gsm8k": {"question": "Tom has 3 apples and buys 5. How many?", "answer": "He has 3+5 = <<3+5=8>>8.\n#### 8"},
    "svamp": {
        "ID": "x",
        "Body": "Tom has 3 apples.",
        "Question": "How many after buying 5?",
        "Equation": "( 3.0 + 5.0 )",
        "Answer": 8.0,
        "Type": "Addition",
    },
    "mawps": {"id": "x", "question": "Tom has 3 apples and buys 5. How many?", "expression": "3+5", "result": "8.0"},
    "esnli": {
        "premise": "A dog runs.",
        "hypothesis": "An animal moves.",
        "label": 0,
        "explanation_1": "a dog is an animal .",
        "explanation_2": "",
        "explanation_3": "",
    },
    "anli_r1": {"uid": "u", "premise": "P.", "hypothesis": "H.", "label": 2, "reason": "I fooled it."},
    "anli_r2": {"uid": "u", "premise": "P.", "hypothesis": "H.", "label": 1, "reason": ""},
    "anli_r3": {"uid": "u", "premise": "P.", "hypothesis": "H.", "label": 0, "reason": ""},
    "rte": {"premise": "P.", "hypothesis": "H.", "idx": 0, "label": 1},
    "boolq": {"question": "is the sky blue", "passage": "The sky is blue.", "answer": True, "title": "Sky"},
    "commonsense_qa": {
        "id": "x",
        "question": "Where?",
        "question_concept": "c",
        "choices": {"label": list("ABCDE"), "text": ["a", "b", "c", "d", "e"]},
        "answerKey": "C",
        "explanation": "c is where",
    },
    "race": {
        "example_id": "x",
        "article": "Text.",
        "question": "What?",
        "options": ["a", "b", "c", "d"],
        "answer": "D",
    },
    "winogrande": {"sentence": "Ian ate because _ was hungry.", "option1": "Ian", "option2": "Dennis", "answer": "1"},
    "wmt14": {"translation": {"en": "Hello.", "fr": "Bonjour."}},
    "iwslt": {"translation": {"en": "Thanks.", "fr": "Merci."}},
}
GOLD = {
    "gsm8k": "8",
    "svamp": "8",
    "mawps": "8",
    "esnli": "entailment",
    "anli_r1": "contradiction",
    "anli_r2": "neutral",
    "anli_r3": "entailment",
    "rte": "no",
    "boolq": "yes",
    "commonsense_qa": "C",
    "race": "D",
    "winogrande": "Ian",
    "wmt14": "Bonjour.",
    "iwslt": "Merci.",
}
WITH_RATIONALE = {"gsm8k", "svamp", "mawps", "esnli", "commonsense_qa"}


def test_registry_covers_the_study():
    assert set(TASKS) == set(RECORDS)
    for name, cls in TASKS.items():
        assert cls.name == name and cls.default_shots > 0 and cls.hub.path


def test_unknown_task_names_the_flag_and_choices():
    with pytest.raises(ValueError, match=r"--task/--calibration.*gsm8k"):
        get_task("gsm9k")


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_example_template(name):
    task = get_task(name)
    example = task.example(RECORDS[name])
    assert example.answer == GOLD[name]
    question = task.question_text(example)
    assert question.rstrip().endswith(":") and EXEMPLAR_SEPARATOR not in question
    assert task.pair_text(example) == question + " " + example.answer
    if task.kind == "multiple_choice":
        assert example.choices[example.label] == " " + example.answer
    elif task.kind == "arithmetic":
        assert example.target == 8.0
    else:
        assert example.target == example.answer
    assert task.has_rationale == (name in WITH_RATIONALE)
    if name in WITH_RATIONALE:
        cot = task.answer_text(example, rationale=True)
        assert cot.endswith(f"The answer is {example.answer}.") and example.rationale.strip() in cot
    else:
        with pytest.raises(ValueError, match="icl-cot"):
            task.answer_text(example, rationale=True)


def test_gsm8k_rationale_drops_calculator_annotations():
    task = get_task("gsm8k")
    example = task.example(RECORDS["gsm8k"])
    assert example.rationale == "He has 3+5 = 8." and task.rationale_steps(example) == 1


def test_svamp_keeps_its_equation_as_rationale():
    task = get_task("svamp")
    example = task.example(RECORDS["svamp"])
    assert example.rationale == "Equation: ( 3.0 + 5.0 ) = 8"
    assert task.answer_text(example, rationale=True) == " Equation: ( 3.0 + 5.0 ) = 8. The answer is 8."
    assert task.rationale_steps(example) == 1


def test_mawps_without_expression_has_no_rationale():
    task = get_task("mawps")
    example = task.example({**RECORDS["mawps"], "expression": None, "result": "2.5"})
    assert example.rationale is None and example.answer == "2.5" and example.target == 2.5


def test_few_shot_text_joins_exemplars_like_calibration():
    task = get_task("gsm8k")
    example = task.example(RECORDS["gsm8k"])
    prompt = task.few_shot_text([example, example], example)
    assert prompt == EXEMPLAR_SEPARATOR.join([task.pair_text(example)] * 2 + [task.question_text(example)])


def test_load_records_prefers_the_local_copy(tmp_path):
    (tmp_path / "gsm8k").mkdir()
    rows = [RECORDS["gsm8k"], {**RECORDS["gsm8k"], "question": "Second?"}]
    (tmp_path / "gsm8k" / "test.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    assert load_records(get_task("gsm8k"), "test", str(tmp_path)) == rows
    assert load_records(get_task("gsm8k"), "test", str(tmp_path), limit=1) == rows[:1]


def test_load_records_falls_back_to_the_hub_with_the_study_ids(tmp_path, monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(path, name=None, split=None, streaming=False, data_files=None):
        calls.append((path, name, split, streaming))
        return [RECORDS["race"]] * 3

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    assert load_records(get_task("race"), "test", str(tmp_path), limit=2) == [RECORDS["race"]] * 2
    load_records(get_task("anli_r2"), "train", None)
    load_records(get_task("wmt14"), "train", None)
    assert calls == [
        ("ehovy/race", "all", "test", False),
        ("facebook/anli", None, "train_r2", False),
        ("wmt/wmt14", "fr-en", "train", True),
    ]


def test_offline_without_local_copy_says_how_to_get_one(tmp_path, monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataUnavailableError, match=r"--data_dir DIR with DIR/boolq/train.jsonl"):
        load_records(get_task("boolq"), "train", str(tmp_path))


def test_load_records_rejects_unknown_split():
    with pytest.raises(ValueError, match="train, test"):
        load_records(get_task("boolq"), "validation", None)


@pytest.mark.data
@pytest.mark.parametrize("name", sorted(RECORDS))
def test_every_shared_record_becomes_an_example(name):
    folder = shared_source(name)
    task = get_task(name)
    for split in ("train", "test"):
        records = load_records(task, split, str(folder.parent))
        assert records, f"{folder}/{split}.jsonl is empty"
        examples = [task.example(record) for record in records]
        assert all(e.question and e.answer for e in examples)
        if task.kind == "multiple_choice":
            assert {e.label for e in examples} == set(range(len(examples[0].choices)))
        if task.has_rationale and name != "mawps":
            assert sum(e.rationale is not None for e in examples) > 0.9 * len(examples)
