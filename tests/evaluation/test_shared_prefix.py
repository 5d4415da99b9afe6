"""Shared-prefix reuse: the tokens every prompt of a batch starts with run once, with identical scores."""

import pytest
import torch

from calibprune.evaluation import forward
from calibprune.evaluation.api import evaluate_model
from calibprune.evaluation.forward import common_prefix_length
from calibprune.evaluation.generation import greedy_generate
from calibprune.evaluation.loglikelihood import choice_logprobs
from calibprune.evaluation.requests import few_shot_prompts
from calibprune.tasks.base import Example, Task

PREFIX = list(range(40, 70))  # 30 shared tokens


def items_with_a_shared_prefix():
    torch.manual_seed(0)
    return [
        (PREFIX + torch.randint(100, 900, (length,)).tolist(), [[5], [7, 8, 9], torch.randint(1, 900, (4,)).tolist()])
        for length in (3, 9, 1, 6)
    ]


def test_common_prefix_length():
    assert common_prefix_length([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix_length([[1, 2], [1, 2]]) == 2
    assert common_prefix_length([[3], [1, 2]]) == 0


@pytest.mark.parametrize("fixture", ["tiny_llama", "tiny_opt"])
def test_shared_prefix_logprobs_equal_the_unshared_ones(fixture, request):
    model = request.getfixturevalue(fixture)
    items = items_with_a_shared_prefix()
    shared = choice_logprobs(model, items, 0, share_prefix=True)
    unshared = choice_logprobs(model, items, 0, share_prefix=False)
    one_by_one = [choice_logprobs(model, [item], 0)[0] for item in items]
    for a, b, c in zip(shared, unshared, one_by_one, strict=True):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(a, c, atol=1e-4, rtol=1e-5)


def test_shared_prefix_generation_equals_the_unshared_one(tiny_llama, tokenizer):
    prompts = [context for context, _ in items_with_a_shared_prefix()]
    shared = greedy_generate(tiny_llama, tokenizer, prompts, 6, share_prefix=True)
    assert shared == greedy_generate(tiny_llama, tokenizer, prompts, 6, share_prefix=False)
    assert shared == [greedy_generate(tiny_llama, tokenizer, [p], 6)[0] for p in prompts]


class Colour(Task):
    name = "colour"
    kind = "multiple_choice"
    hub = None

    def example(self, record):
        return Example(record["q"], record["a"], choices=(" red", " blue"), label=0)


def test_shared_exemplars_are_one_draw_except_for_an_item_that_is_one_of_them():
    task = Colour()
    pool = [Example(f"q{i}?", "red") for i in range(10)]
    prompts = few_shot_prompts(
        task, [Example("t0?", "red"), Example("t1?", "red")], pool, 3, seed=0, shared_exemplars=True
    )
    head = prompts[0].rsplit("\n\n", 1)[0]
    assert prompts[1].startswith(head + "\n\n") and head.count("Question:") == 3
    chosen = [line for line in head.split("\n") if line.startswith("Question:")]
    clash = Example(chosen[0].removeprefix("Question: "), "red")
    (own,) = few_shot_prompts(task, [clash], pool, 3, seed=0, shared_exemplars=True)
    assert own.count(chosen[0]) == 1  # only as the test question
    assert few_shot_prompts(task, [Example("t0?", "red")], pool, 3, seed=0)[0] != prompts[0]  # per-item draw


def test_evaluation_with_and_without_prefix_reuse_is_identical(tiny_llama, tokenizer, local_data, monkeypatch):
    options = dict(
        data_dir=str(local_data), limit=6, num_fewshot=3, batch_size=3, max_new_tokens=6, shared_exemplars=True
    )
    seen = []

    def spy(sequences):
        seen.append(common_prefix_length(sequences))
        return seen[-1]

    monkeypatch.setattr(forward, "common_prefix_length", spy)
    reused = evaluate_model(tiny_llama, tokenizer, ["boolq", "gsm8k"], **options)
    assert max(seen) >= forward.MIN_SHARED_PREFIX  # the exemplars did run once per batch
    monkeypatch.setattr(forward, "MIN_SHARED_PREFIX", 10**9)
    recomputed = evaluate_model(tiny_llama, tokenizer, ["boolq", "gsm8k"], **options)
    for a, b in zip(reused, recomputed, strict=True):
        assert (a.metric, a.per_item) == (b.metric, b.per_item)
    assert [r.value for r in reused] == pytest.approx([r.value for r in recomputed])


def test_shared_exemplars_is_a_setting_and_must_be_a_boolean():
    from calibprune.evaluation.datamodule import EvaluationDataModule

    assert EvaluationDataModule(["boolq"], shared_exemplars=True).settings("boolq")["shared_exemplars"] is True
    with pytest.raises(ValueError, match="shared_exemplars: must be true or false"):
        EvaluationDataModule(["boolq"], shared_exemplars="yes")
