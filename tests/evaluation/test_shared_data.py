"""Every task present in ../shared/data evaluates end to end (tiny model: the plumbing, not the accuracy)."""

import math

import pytest

from calibprune.evaluation.api import evaluate_model
from calibprune.tasks import TASKS
from tests.conftest import shared_source

METRICS = {"multiple_choice": {"acc", "acc_norm"}, "arithmetic": {"exact_match"}, "translation": {"bleu"}}


@pytest.mark.data
@pytest.mark.parametrize("name", sorted(TASKS))
def test_each_present_task_evaluates(name, tiny_llama, tokenizer):
    folder = shared_source(name)
    results = evaluate_model(
        tiny_llama,
        tokenizer,
        [name],
        data_dir=str(folder.parent),
        limit=8,
        num_fewshot=2,
        batch_size=4,
        max_new_tokens=8,
    )
    assert {r.metric for r in results} == METRICS[TASKS[name].kind]
    assert all(r.task == name and r.n == 8 and r.num_fewshot == 2 and math.isfinite(r.value) for r in results)


@pytest.mark.data
@pytest.mark.parametrize("name", ["wikitext", "c4"])
def test_perplexity_corpora_evaluate(name, tiny_llama, tokenizer):
    folder = shared_source(name)
    results = evaluate_model(tiny_llama, tokenizer, [name], data_dir=str(folder.parent), seqlen=64, limit=3)
    ppl = next(r for r in results if r.metric == "ppl")
    assert ppl.n == 3 and 1 < ppl.value < 2 * len(tokenizer)
