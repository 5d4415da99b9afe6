import torch

from calibprune.evaluation.generation import eos_ids, greedy_generate, truncate_at_stop


def reference(model, tokenizer, prompt, max_new_tokens):
    """Batch-1 generation of transformers, decoded."""
    out = model.generate(
        torch.tensor([prompt]), max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
    )
    return tokenizer.decode(out[0, len(prompt) :], skip_special_tokens=True)


PROMPTS = ["Hello there, how are you doing today my friend?", "Hi", "The cat sat on the mat and"]


def test_batched_left_padded_generation_equals_batch_one_generate(tiny_llama, tokenizer):
    prompts = [tokenizer(p)["input_ids"] for p in PROMPTS]
    ours = greedy_generate(tiny_llama, tokenizer, prompts, 10)
    assert ours == [reference(tiny_llama, tokenizer, p, 10) for p in prompts]


def test_opt_generation_equals_batch_one_generate(tiny_opt, tokenizer):
    prompts = [tokenizer(p)["input_ids"] for p in PROMPTS]
    assert greedy_generate(tiny_opt, tokenizer, prompts, 6) == [reference(tiny_opt, tokenizer, p, 6) for p in prompts]


def test_rows_stop_at_their_stop_sequence_and_others_continue(tiny_llama, tokenizer):
    prompts = [tokenizer(p)["input_ids"] for p in PROMPTS]
    full = greedy_generate(tiny_llama, tokenizer, prompts, 10)
    stop = full[0][1:3]  # a string that occurs early in the first row only (checked below)
    assert stop and all(stop not in text for text in full[1:])
    stopped = greedy_generate(tiny_llama, tokenizer, prompts, 10, stop_sequences=(stop,))
    assert stopped[0] == full[0][: full[0].find(stop)]
    assert stopped[1:] == full[1:]


def test_truncate_at_stop_cuts_at_the_earliest_stop():
    assert truncate_at_stop(" 42\n\nQuestion: x", ("Question:", "\n\n")) == " 42"
    assert truncate_at_stop("no stop", ("\n",)) == "no stop"


def test_eos_ids_include_the_generation_config(tiny_llama, tokenizer):
    assert tokenizer.eos_token_id in eos_ids(tiny_llama, tokenizer)
