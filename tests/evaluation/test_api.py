import pytest
import torch

from calibprune.evaluation import api
from calibprune.evaluation.api import evaluate_model
from calibprune.evaluation.cache import ResultCache
from calibprune.evaluation.datamodule import EvaluationDataModule
from calibprune.evaluation.loglikelihood import choice_logprobs
from calibprune.evaluation.perplexity import window_nll

OPTIONS = dict(seqlen=32, batch_size=3, limit=5, num_fewshot=2, max_new_tokens=6)


def test_evaluate_model_reports_every_task(tiny_llama, tokenizer, local_data):
    results = evaluate_model(
        tiny_llama, tokenizer, ["wikitext", "boolq", "gsm8k", "wmt14"], data_dir=str(local_data), **OPTIONS
    )
    summary = [(r.task, r.metric, r.n, r.num_fewshot) for r in results]
    assert summary == [
        ("wikitext", "ppl", 5, None),
        ("wikitext", "nll", 5, None),
        ("boolq", "acc", 5, 2),
        ("boolq", "acc_norm", 5, 2),
        ("gsm8k", "exact_match", 5, 2),
        ("wmt14", "bleu", 4, 2),
    ]
    assert all(r.value == r.value for r in results)  # no NaN
    ppl, nll = results[0].value, results[1].value
    assert ppl == pytest.approx(torch.tensor(nll).exp().item())


def test_accuracy_and_perplexity_equal_direct_computations(tiny_llama, tokenizer, local_data):
    dm = EvaluationDataModule(["wikitext", "boolq"], data_dir=str(local_data), **OPTIONS)
    dm.connect(tokenizer)
    dm.setup()
    windows = torch.stack(dm.plans[0].items)
    nll, count = window_nll(tiny_llama, windows)
    correct = []
    for request in dm.plans[1].items:
        (scores,) = choice_logprobs(tiny_llama, [(request.context, list(request.continuations))], 0)
        correct.append(float(scores.argmax().item() == request.label))
    results = {
        r.metric: r.value
        for r in evaluate_model(tiny_llama, tokenizer, ["wikitext", "boolq"], data_dir=str(local_data), **OPTIONS)
    }
    assert results["ppl"] == pytest.approx(torch.exp(nll.sum() / count.sum()).item(), rel=1e-5)
    assert results["acc"] == pytest.approx(sum(correct) / len(correct))


def test_cached_tasks_are_read_not_evaluated(tiny_llama, tokenizer, local_data, tmp_path, monkeypatch):
    cache = ResultCache(tmp_path)
    first = evaluate_model(tiny_llama, tokenizer, ["boolq"], data_dir=str(local_data), cache=cache, **OPTIONS)
    assert len(list(tmp_path.glob("*.json"))) == 1

    def fail(*args, **kwargs):
        raise AssertionError("evaluated again")

    monkeypatch.setattr(api, "run_evaluation", fail)
    assert evaluate_model(tiny_llama, tokenizer, ["boolq"], data_dir=str(local_data), cache=cache, **OPTIONS) == first
    with pytest.raises(AssertionError, match="evaluated again"):  # other settings: another key
        evaluate_model(
            tiny_llama, tokenizer, ["boolq"], data_dir=str(local_data), cache=cache, **{**OPTIONS, "num_fewshot": 1}
        )
