"""Our log-likelihood and generation scoring equal lm-evaluation-harness's on identical prompts and items.

Runs only where ``lm_eval`` is installed (``pip install lm-eval``); the tiny-model test is fast, the embedded
model's is ``slow`` (and ``data``: it reads ../shared/data).
"""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_DATA, shared_source
from tests.evaluation.conftest import write_jsonl

pytestmark = pytest.mark.lm_eval

# fp32 on CPU: batched, padded and cached forward passes differ from lm-eval's in the last bits only.
TOLERANCE = 1e-3


def harness_lm(model, tokenizer, batch_size: int = 4):
    pytest.importorskip("lm_eval", reason="lm-evaluation-harness is not installed (pip install lm-eval)")
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size, device="cpu")


def check_choice(agreement) -> None:
    assert len(agreement.ours) == len(agreement.theirs) > 0
    assert agreement.max_abs_difference() < TOLERANCE
    ours, theirs = agreement.accuracies()
    assert ours == theirs


def check_generation(agreement) -> None:
    assert len(agreement.ours) == len(agreement.theirs) > 0
    assert agreement.ours == agreement.theirs


def test_tiny_model_agrees_with_lm_eval(tiny_llama, tokenizer, local_data, tmp_path):
    from calibprune.evaluation.lm_eval_agreement import compare_task

    lm = harness_lm(tiny_llama, tokenizer)
    options = dict(limit=5, num_fewshot=2, batch_size=3, max_new_tokens=8)
    check_choice(compare_task(lm, tiny_llama, tokenizer, "boolq", data_dir=str(local_data), **options))
    check_generation(compare_task(lm, tiny_llama, tokenizer, "gsm8k", data_dir=str(local_data), **options))
    # Multi-token choices of different lengths: the continuation pass after the cached context.
    records = [
        {
            "sentence": f"Item {i}: the _ fell off the tall shelf.",
            "option1": "glass vase",
            "option2": f"book number {i} of the series",
            "answer": "12"[i % 2],
        }
        for i in range(10)
    ]
    write_jsonl(tmp_path / "winogrande" / "train.jsonl", records[:5])
    write_jsonl(tmp_path / "winogrande" / "test.jsonl", records[5:])
    agreement = compare_task(lm, tiny_llama, tokenizer, "winogrande", data_dir=str(tmp_path), **options)
    check_choice(agreement)


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.parametrize(("task", "shots"), [("boolq", 1), ("commonsense_qa", 2), ("winogrande", 2), ("gsm8k", 2)])
def test_embedded_model_agrees_with_lm_eval(task, shots):
    shared_source(task)
    from calibprune.evaluation.lm_eval_agreement import compare_task
    from calibprune.modeling.loading import load_model, load_tokenizer

    tokenizer, model = load_tokenizer("embedded"), load_model("embedded")
    agreement = compare_task(
        harness_lm(model, tokenizer),
        model,
        tokenizer,
        task,
        data_dir=str(SHARED_DATA),
        limit=8,
        num_fewshot=shots,
        batch_size=4,
        max_new_tokens=32,
    )
    check_generation(agreement) if agreement.kind == "arithmetic" else check_choice(agreement)
