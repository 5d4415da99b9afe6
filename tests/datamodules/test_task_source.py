import re

import pytest
import torch

from calibprune.datamodules.sources import SourceContext, SourceOptions, build_source

SEP = "\n\n"


def draw(spec, tokenizer, data_dir, seqlen=256, nsamples=4, seed=0, **options):
    source = build_source(spec, SourceOptions(**options))
    context = SourceContext(tokenizer=tokenizer, seqlen=seqlen, data_dir=str(data_dir))
    return source.samples(context, nsamples, torch.Generator().manual_seed(seed))


def real_text(samples, tokenizer, i):
    mask = samples.attention_mask[i].bool()
    return tokenizer.decode(samples.input_ids[i][mask].tolist())


def test_zero_shot_is_one_question_then_padding(tokenizer, data_dir):
    samples = draw("gsm8k", tokenizer, data_dir, format="zero-shot")
    for i in range(len(samples)):
        mask = samples.attention_mask[i]
        real = int(mask.sum())
        assert 0 < real < 64 and mask[:real].all() and not mask[real:].any()  # right padding, marked
        assert samples.input_ids[i, 0] == tokenizer.bos_token_id
        text = real_text(samples, tokenizer, i)
        assert text.count("Question") == 1 and text.endswith("\nAnswer:")


def test_icl_fills_the_window_with_complete_pairs(tokenizer, data_dir):
    samples = draw("gsm8k", tokenizer, data_dir, format="icl")
    assert samples.attention_mask.all()
    for i in range(len(samples)):
        ids = samples.input_ids[i]
        assert ids[0] == tokenizer.bos_token_id and (ids[1:] != tokenizer.bos_token_id).all()
        pairs = real_text(samples, tokenizer, i).split(SEP)
        complete = [p for p in pairs if re.fullmatch(r"(?:<\|im_start\|>)?Question: Problem \d+: .*\nAnswer: \d+", p)]
        assert len(complete) >= 2 and len(complete) >= len(pairs) - 1  # only the last one may be cut
        assert "Step" not in real_text(samples, tokenizer, i)


def test_icl_cot_answers_carry_their_rationale(tokenizer, data_dir):
    samples = draw("gsm8k", tokenizer, data_dir, format="icl-cot", seqlen=384)
    text = real_text(samples, tokenizer, 0)
    pairs = text.split(SEP)[:-1]
    assert len(pairs) >= 2
    for pair in pairs:
        assert re.search(r"\nAnswer: Step 0: .* The answer is \d+\.$", pair, re.S) and "<<" not in pair


def test_num_cot_steps_keeps_rationales_of_that_many_steps(tokenizer, data_dir):
    samples = draw("gsm8k", tokenizer, data_dir, format="icl-cot", num_cot_steps=3, seqlen=384)
    for pair in real_text(samples, tokenizer, 0).split(SEP)[:-1]:
        assert pair.count("Step ") == 3
    with pytest.raises(ValueError, match=r"--num_cot_steps 9: .* found 1 \(10\), 2 \(10\)"):
        draw("gsm8k", tokenizer, data_dir, format="icl-cot", num_cot_steps=9)


def test_num_incontext_holds_exactly_k_pairs_then_padding(tokenizer, data_dir):
    samples = draw("gsm8k", tokenizer, data_dir, format="icl", num_incontext=3, seqlen=512)
    for i in range(len(samples)):
        text = real_text(samples, tokenizer, i)
        assert text.count("Question: Problem") == 3 and re.search(r"Answer: \d+$", text)
        assert not samples.attention_mask[i, -1]
    with pytest.raises(ValueError, match="--num_incontext 30: 30 pairs of gsm8k take"):
        draw("gsm8k", tokenizer, data_dir, num_incontext=30, seqlen=128)


def test_data_seqlen_is_meaningful_tokens_then_padding(tokenizer, data_dir):
    samples = draw("gsm8k", tokenizer, data_dir, data_seqlen=100)
    assert (samples.attention_mask.sum(dim=1) == 100).all() and not samples.attention_mask[:, 100:].any()


def test_per_example_bos_reproduces_the_seed_concatenation(tokenizer, data_dir):
    samples = draw("gsm8k", tokenizer, data_dir, per_example_bos=True)
    ids = samples.input_ids[0]
    starts = (ids == tokenizer.bos_token_id).nonzero().flatten().tolist()
    assert starts[0] == 0 and len(starts) >= 3
    assert SEP not in real_text(samples, tokenizer, 0)


def test_pairs_are_drawn_without_replacement(tokenizer, data_dir):
    samples = draw("gsm8k", tokenizer, data_dir, format="zero-shot", nsamples=40, seqlen=64)
    questions = {real_text(samples, tokenizer, i) for i in range(40)}
    assert len(questions) == 40


def test_seeds_reproduce_and_differ(tokenizer, data_dir):
    first = draw("gsm8k", tokenizer, data_dir, seed=3)
    assert torch.equal(first.input_ids, draw("gsm8k", tokenizer, data_dir, seed=3).input_ids)
    assert not torch.equal(first.input_ids, draw("gsm8k", tokenizer, data_dir, seed=4).input_ids)


def test_icl_cot_on_a_task_without_rationale_is_an_error():
    with pytest.raises(ValueError, match=r"--format icl-cot: task 'anli_r1' has no rationales; tasks with them: gsm8k"):
        build_source("anli_r1", SourceOptions(format="icl-cot"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(format="concat"), "--format must be one of zero-shot, icl, icl-cot"),
        (dict(num_cot_steps=2), "--num_cot_steps needs --format icl-cot"),
        (dict(format="zero-shot", num_incontext=2), "--format zero-shot holds one question"),
        (dict(num_incontext=0), "--num_incontext must be a positive integer"),
        (dict(num_incontext=2, data_seqlen=10), "give one"),
    ],
)
def test_format_options_are_validated(options, message):
    with pytest.raises(ValueError, match=message):
        SourceOptions(**options)


def test_classification_task_labels_follow_the_template(tokenizer, data_dir):
    samples = draw("anli_r1", tokenizer, data_dir, format="icl", seqlen=128, nsamples=1)
    pairs = real_text(samples, tokenizer, 0).split(SEP)
    assert re.fullmatch(
        r"(<\|im_start\|>)?Premise: Premise \d+\.\nHypothesis: Hypothesis \d+\.\nAnswer: "
        r"(entailment|neutral|contradiction)",
        pairs[0],
    )
