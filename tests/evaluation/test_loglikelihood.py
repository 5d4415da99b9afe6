import pytest
import torch

from calibprune.evaluation.loglikelihood import choice_logprobs, encode_pair


def direct_logprob(model, context, continuation):
    """Unpadded, unbatched: sum of log p(continuation token | everything before it)."""
    logits = model(torch.tensor([context + continuation])).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    return sum(logprobs[len(context) - 1 + i, token].item() for i, token in enumerate(continuation))


def test_encode_pair_moves_trailing_space_to_the_continuation(tokenizer):
    context, continuation = encode_pair(tokenizer, "Question: is it?\nAnswer: ", "yes")
    assert context == tokenizer("Question: is it?\nAnswer:", add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(continuation) == " yes"
    whole = tokenizer("Question: is it?\nAnswer: yes", add_special_tokens=False)["input_ids"]
    assert context + continuation == whole


@pytest.mark.parametrize("fixture", ["tiny_llama", "tiny_opt"])
def test_batched_logprobs_equal_a_direct_computation(fixture, request, tokenizer):
    model = request.getfixturevalue(fixture)
    items = [
        ([1, 500, 600, 700, 800, 900], [[1000], [1001, 1002], [5]]),
        ([1, 42], [[7, 8, 9, 10], [11]]),
        ([1, 11, 12, 13], [[14, 15], [16, 17], [18, 19], [20, 21, 22, 23, 24]]),
        ([1, 300, 301, 302, 303, 304, 305, 306, 307], [[2, 3, 4]]),
    ]
    scores = choice_logprobs(model, items, tokenizer.pad_token_id)
    assert [s.shape[0] for s in scores] == [3, 2, 4, 1]
    for (context, continuations), item_scores in zip(items, scores, strict=True):
        for continuation, value in zip(continuations, item_scores, strict=True):
            assert value.item() == pytest.approx(direct_logprob(model, context, continuation), abs=1e-4)


def test_long_contexts_lose_their_first_tokens_as_lm_eval_truncates(tiny_llama):
    context, continuation = list(range(1, 40)), [50, 60, 70]
    (scores,) = choice_logprobs(tiny_llama, [(context, [continuation])], 0, max_length=10)
    # lm-eval feeds (context + continuation)[:-1][-10:]: the last 8 context tokens, then 2 continuation tokens.
    assert scores[0].item() == pytest.approx(direct_logprob(tiny_llama, context[-8:], continuation), abs=1e-4)


def test_continuation_longer_than_the_context_window_is_an_error(tiny_llama):
    with pytest.raises(ValueError, match="exceeds the model's context"):
        choice_logprobs(tiny_llama, [([1], [list(range(5))])], 0, max_length=4)
