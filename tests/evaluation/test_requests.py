from typing import Any, ClassVar

import pytest

from calibprune.evaluation.prompts import draw_exemplars, exemplar_seed
from calibprune.evaluation.requests import ChoiceRequest, GenerationRequest, build_requests, task_examples
from calibprune.tasks.base import EXEMPLAR_SEPARATOR, Example, HubSpec, Task, TaskKind


class Colour(Task):
    """A tiny two-way task defined here, independent of the registry."""

    name: ClassVar[str] = "colour"
    kind: ClassVar[TaskKind] = "multiple_choice"
    hub: ClassVar[HubSpec] = HubSpec("none/colour")

    def example(self, record: dict[str, Any]) -> Example:
        if record["label"] not in (0, 1):
            raise ValueError("no gold label")
        words = (" red", " blue")
        return Example(record["q"], words[record["label"]].strip(), choices=words, label=record["label"])


class Sum(Colour):
    name: ClassVar[str] = "sum"
    kind: ClassVar[TaskKind] = "arithmetic"

    def example(self, record: dict[str, Any]) -> Example:
        total = record["a"] + record["b"]
        return Example(
            f"{record['a']} + {record['b']}?",
            str(total),
            rationale=f"{record['a']} plus {record['b']}.",
            target=float(total),
        )


POOL = [Example(f"question {i}", "red", choices=(" red", " blue"), label=0) for i in range(10)]


def test_draw_exemplars_is_seeded_distinct_and_never_the_test_item():
    test = POOL[3]
    first = draw_exemplars(POOL, 4, test, seed=7)
    assert first == draw_exemplars(POOL, 4, test, seed=7)
    assert len({e.question for e in first}) == 4
    assert test not in first
    for seed in range(30):
        assert test not in draw_exemplars(POOL, 9, test, seed)
    with pytest.raises(ValueError, match="--num_fewshot 10"):
        draw_exemplars(POOL, 10, test, seed=0)


def test_exemplar_seed_depends_on_seed_task_and_item_only():
    assert exemplar_seed(0, "boolq", 3) == exemplar_seed(0, "boolq", 3)
    assert (
        len(
            {
                exemplar_seed(0, "boolq", 3),
                exemplar_seed(1, "boolq", 3),
                exemplar_seed(0, "rte", 3),
                exemplar_seed(0, "boolq", 4),
            }
        )
        == 4
    )


def test_task_examples_leave_out_records_without_gold_label():
    records = [{"q": "a", "label": 0}, {"q": "b", "label": -1}, {"q": "c", "label": 1}]
    assert [e.question for e in task_examples(Colour(), records)] == ["a", "c"]


def test_choice_requests_hold_bos_prompt_and_each_choice(tokenizer):
    task = Colour()
    tests = [Example("sky?", "blue", choices=(" red", " blue"), label=1)]
    (request,) = build_requests(task, tokenizer, tests, POOL, k=2, seed=0)
    assert isinstance(request, ChoiceRequest)
    assert request.context[0] == tokenizer.bos_token_id
    prompt = tokenizer.decode(request.context[1:])
    assert prompt.count(EXEMPLAR_SEPARATOR) == 2 and prompt.endswith("Question: sky?\nAnswer:")
    assert [tokenizer.decode(c) for c in request.continuations] == [" red", " blue"]
    assert request.label == 1 and request.choice_chars == (3, 4)  # lm-eval: len("red"), len("blue")
    assert request.length == len(request.context) + max(len(c) for c in request.continuations)


def test_generation_requests_with_and_without_rationale(tokenizer):
    task = Sum()
    pool = [task.example({"a": i, "b": 1}) for i in range(5)]
    tests = [task.example({"a": 40, "b": 2})]
    (plain,) = build_requests(task, tokenizer, tests, pool, k=2, seed=0)
    (cot,) = build_requests(task, tokenizer, tests, pool, k=2, seed=0, rationale=True)
    assert isinstance(plain, GenerationRequest) and plain.target == 42.0
    assert "The answer is" not in tokenizer.decode(plain.prompt)
    assert tokenizer.decode(cot.prompt).count("The answer is") == 2


def test_requests_are_independent_of_the_number_of_test_items(tokenizer):
    task = Colour()
    tests = [Example(f"t{i}", "red", choices=(" red", " blue"), label=0) for i in range(5)]
    all_five = build_requests(task, tokenizer, tests, POOL, k=3, seed=1)
    first_two = build_requests(task, tokenizer, tests[:2], POOL, k=3, seed=1)
    assert all_five[:2] == first_two
