import pytest

from calibprune.evaluation.harness import _LM_EVAL_AVAILABLE, evaluate_harness, harness_results


def test_harness_output_becomes_result_records():
    output = {
        "results": {
            "piqa": {
                "alias": "piqa",
                "acc,none": 0.75,
                "acc_stderr,none": 0.01,
                "acc_norm,none": 0.7,
                "acc_norm_stderr,none": "N/A",
            },
            "gsm8k": {"exact_match,strict-match": 0.2, "exact_match_stderr,strict-match": 0.02},
        },
        "n-samples": {"piqa": {"original": 100, "effective": 32}, "gsm8k": {"effective": 10}},
    }
    records = {(r.task, r.metric): r for r in harness_results(output, 0)}
    assert set(records) == {
        ("harness:piqa", "acc"),
        ("harness:piqa", "acc_norm"),
        ("harness:gsm8k", "exact_match[strict-match]"),
    }
    assert (records["harness:piqa", "acc"].stderr, records["harness:piqa", "acc"].n) == (0.01, 32)
    assert records["harness:piqa", "acc_norm"].stderr is None


@pytest.mark.skipif(bool(_LM_EVAL_AVAILABLE), reason="lm_eval is installed")
def test_missing_lm_eval_gives_an_install_hint(tiny_llama, tokenizer):
    with pytest.raises(ModuleNotFoundError, match="lm_eval"):
        evaluate_harness(tiny_llama, tokenizer, ["piqa"])
