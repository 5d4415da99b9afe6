"""ArithmeticScorer and TranslationScorer values against hand-computed ones (the generations are fixed)."""

import math

import pytest

import calibprune.evaluation.scorers.arithmetic as arithmetic
import calibprune.evaluation.scorers.translation as translation
from calibprune.evaluation.requests import EvaluationPlan, GenerationRequest


def _fixed_generations(monkeypatch, module, texts: list[str]) -> list[dict]:
    """Replace greedy generation in ``module`` by ``texts`` (in order); record each call's arguments."""
    calls, queue = [], list(texts)

    def generate(model, tokenizer, prompts, max_new_tokens, stops, max_length):
        calls.append({"prompts": prompts, "max_new_tokens": max_new_tokens, "stops": stops})
        return [queue.pop(0) for _ in prompts]

    monkeypatch.setattr(module, "greedy_generate", generate)
    return calls


def test_arithmetic_exact_match_and_stderr(monkeypatch):
    texts = ["Step one. The answer is 42.", "so it costs $3.50 in total", "I do not know", "The answer is 1,000."]
    calls = _fixed_generations(monkeypatch, arithmetic, texts)
    plan = EvaluationPlan("gsm8k", "arithmetic", [], {"num_fewshot": 2, "rationale": False, "max_new_tokens": None})
    scorer = arithmetic.ArithmeticScorer(plan)
    requests = [
        GenerationRequest([1, 2], 42.0, 0),
        GenerationRequest([3], 3.5, 1),
        GenerationRequest([4], 7.0, 2),
        GenerationRequest([5, 6, 7], 999.0, 3),
    ]
    scorer.update(None, None, requests[:2], None)
    scorer.update(None, None, requests[2:], None)
    (result,) = scorer.results()
    assert (result.task, result.metric, result.n, result.num_fewshot) == ("gsm8k", "exact_match", 4, 2)
    assert result.value == pytest.approx(0.5)  # 42 and 3.5 right; no number; 1000 != 999
    assert result.stderr == pytest.approx(math.sqrt((4 * 0.25 / 3) / 4))  # sample std / sqrt(n)
    assert result.per_item == [1.0, 1.0, 0.0, 0.0]
    assert [call["max_new_tokens"] for call in calls] == [32, 32]
    assert calls[0]["prompts"] == [[1, 2], [3]]


def test_arithmetic_generates_longer_with_rationales(monkeypatch):
    calls = _fixed_generations(monkeypatch, arithmetic, ["The answer is 5."])
    scorer = arithmetic.ArithmeticScorer(EvaluationPlan("svamp", "arithmetic", [], {"rationale": True}))
    scorer.update(None, None, [GenerationRequest([1], 5.0, 0)], None)
    (result,) = scorer.results()
    assert result.value == 1.0 and result.stderr is None and calls[0]["max_new_tokens"] == 256


def test_translation_corpus_bleu(monkeypatch):
    """One sentence: precisions 5/6, 3/5, 2/4, 1/3, equal lengths (no brevity penalty)."""
    _fixed_generations(monkeypatch, translation, ["  the cat sat on the mat  "])
    scorer = translation.TranslationScorer(EvaluationPlan("wmt14", "translation", [], {"num_fewshot": 1}))
    scorer.update(None, None, [GenerationRequest([1], "the cat sat on a mat", 0)], None)
    (result,) = scorer.results()
    expected = 100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    assert (result.metric, result.n, result.stderr) == ("bleu", 1, None)
    assert result.value == pytest.approx(expected, rel=1e-6)


def test_translation_brevity_penalty_over_the_corpus(monkeypatch):
    """Two sentences, one exact and one a 2-word prefix of a 4-word reference: BLEU pools n-gram counts."""
    _fixed_generations(monkeypatch, translation, ["a b c d", "e f"])
    scorer = translation.TranslationScorer(EvaluationPlan("iwslt", "translation", [], {}))
    scorer.update(None, None, [GenerationRequest([1], "a b c d", 0), GenerationRequest([2], "e f g h", 1)], None)
    (result,) = scorer.results()
    # matches/total per order: 1-grams 6/6, 2-grams 4/4, 3-grams 2/2, 4-grams 1/1; lengths 6 vs 8
    expected = 100 * math.exp(1 - 8 / 6)
    assert result.value == pytest.approx(expected, rel=1e-6) and result.n == 2
