"""Per-item values of every metric: in test-item order, the same whatever the batching, value recomputable."""

import math

import pytest
import torch

from calibprune.evaluation.api import evaluate_model
from calibprune.evaluation.datamodule import EvaluationDataModule
from calibprune.evaluation.loglikelihood import choice_logprobs
from calibprune.evaluation.metrics import PerItemValues, mean_and_stderr
from calibprune.evaluation.perplexity import window_nll
from calibprune.evaluation.scorers.choice import choice_correct

OPTIONS = dict(seqlen=32, limit=5, num_fewshot=2, max_new_tokens=6)
TASKS = ["wikitext", "boolq", "gsm8k", "wmt14"]


def test_per_item_values_come_back_in_item_order():
    metric = PerItemValues()
    metric.update([3, 1], torch.tensor([30.0, 10.0]))
    metric.update(torch.tensor([0, 2]), torch.tensor([0.0, 20.0]))
    assert metric.compute() == [0.0, 10.0, 20.0, 30.0]
    metric.update([1], torch.tensor([1.0]))
    with pytest.raises(ValueError, match="twice"):
        metric.compute()
    with pytest.raises(ValueError, match="2 item indices for 1 values"):
        PerItemValues().update([0, 1], torch.tensor([1.0]))


def test_mean_and_stderr_is_the_sample_formula():
    values = [1.0, 0.0, 1.0, 1.0, 0.0]
    mean, stderr, n = mean_and_stderr(values)
    assert (mean, n) == (0.6, 5)
    assert stderr == pytest.approx(torch.tensor(values).std(unbiased=True).item() / math.sqrt(5))
    assert mean_and_stderr([2.0]) == (2.0, None, 1)


@pytest.fixture(scope="module")
def by_batch_size(tiny_llama, tokenizer, local_data):
    return {
        size: evaluate_model(tiny_llama, tokenizer, TASKS, data_dir=str(local_data), batch_size=size, **OPTIONS)
        for size in (1, 3)
    }


def test_every_metric_but_bleu_has_its_per_item_values(by_batch_size):
    for result in by_batch_size[3]:
        if result.metric == "bleu":
            assert result.per_item is None
            continue
        assert len(result.per_item) == result.n
        mean, stderr, _ = mean_and_stderr(result.per_item)
        if result.metric == "ppl":
            assert result.value == math.exp(mean)
        else:
            assert result.value == mean and result.stderr == stderr
        if result.metric in ("acc", "acc_norm", "exact_match"):
            assert set(result.per_item) <= {0.0, 1.0}


def test_per_item_values_do_not_depend_on_the_batching(by_batch_size):
    one, three = by_batch_size[1], by_batch_size[3]
    for a, b in zip(one, three, strict=True):
        assert (a.task, a.metric) == (b.task, b.metric)
        if a.per_item is not None:
            assert a.per_item == pytest.approx(b.per_item, abs=1e-5)


def test_per_item_values_follow_the_test_split_order(tiny_llama, tokenizer, local_data, by_batch_size):
    dm = EvaluationDataModule(["wikitext", "boolq"], data_dir=str(local_data), batch_size=3, **OPTIONS)
    dm.connect(tokenizer)
    dm.setup()
    nll, count = window_nll(tiny_llama, torch.stack(dm.plans[0].items))
    correct = {}
    for request in dm.plans[1].items:  # longest first, not test order
        (scores,) = choice_logprobs(tiny_llama, [(request.context, list(request.continuations))], 0)
        correct[request.index] = float(choice_correct(scores, request.choice_chars, request.label)[0])
    results = {(r.task, r.metric): r for r in by_batch_size[3]}
    assert results["wikitext", "nll"].per_item == pytest.approx((nll / count).tolist(), rel=1e-6)
    assert results["boolq", "acc"].per_item == [correct[i] for i in range(len(correct))]


def test_acc_norm_divides_by_the_choice_length_without_its_space():
    # lm-evaluation-harness: argmax(lls / len(choice)) with choices "no" (2) and "yes" (3).
    logprobs = torch.tensor([-2.1, -3.0])
    assert choice_correct(logprobs, (2, 3), 1) == (False, True)
    assert choice_correct(logprobs, (3, 4), 1) == (False, False)
