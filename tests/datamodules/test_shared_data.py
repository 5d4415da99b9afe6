"""Every source present in ../shared/data, checked for structure (skipped where a folder is absent)."""

import pytest
import torch

from calibprune.datamodules.sources import SourceContext, SourceOptions, build_source
from calibprune.tasks import EXEMPLAR_SEPARATOR, TASKS, get_task
from tests.conftest import shared_source

pytestmark = pytest.mark.data
WITH_RATIONALE = sorted(name for name, cls in TASKS.items() if cls().has_rationale)


def draw(spec, tokenizer, seqlen, nsamples=3, seed=0, **options):
    folder = shared_source(spec)
    source = build_source(spec, SourceOptions(**options))
    context = SourceContext(tokenizer=tokenizer, seqlen=seqlen, data_dir=str(folder.parent))
    return source.samples(context, nsamples, torch.Generator().manual_seed(seed))


def pairs_of(samples, tokenizer, i):
    mask = samples.attention_mask[i].bool()
    return tokenizer.decode(samples.input_ids[i][mask][1:].tolist()).split(EXEMPLAR_SEPARATOR)


def cue(name):
    return "French:" if TASKS[name].kind == "translation" else "Answer:"


@pytest.mark.parametrize("name", sorted(TASKS))
def test_zero_shot_holds_one_question_and_marks_padding(name, tokenizer):
    samples = draw(name, tokenizer, 1024, format="zero-shot")
    for i in range(len(samples)):
        real = int(samples.attention_mask[i].sum())
        assert real < 1024 and not samples.attention_mask[i, real:].any()
        (question,) = pairs_of(samples, tokenizer, i)
        assert question.endswith(cue(name)) and question.count(cue(name)) == 1


@pytest.mark.parametrize("name", sorted(TASKS))
def test_icl_holds_complete_pairs_and_no_padding(name, tokenizer):
    samples = draw(name, tokenizer, 1024)
    assert samples.attention_mask.all()
    for i in range(len(samples)):
        pairs = pairs_of(samples, tokenizer, i)
        assert len(pairs) >= 3  # at least two complete pairs before the one cut by the window end
        for pair in pairs[:-1]:
            assert pair.count(cue(name)) == 1 and not pair.endswith(cue(name))


@pytest.mark.parametrize("name", WITH_RATIONALE)
def test_icl_cot_answers_hold_rationales(name, tokenizer):
    samples = draw(name, tokenizer, 1024, format="icl-cot")
    task = get_task(name)
    for pair in pairs_of(samples, tokenizer, 0)[:-1]:
        answer = pair.split(cue(name), 1)[1]
        assert "The answer is" in answer and len(answer.split("The answer is")[0].strip()) > 0
    if name == "svamp":
        assert "Equation:" in pairs_of(samples, tokenizer, 0)[0]
    assert task.has_rationale


@pytest.mark.parametrize("name", ["gsm8k", "esnli", "boolq", "winogrande"])
def test_num_incontext_holds_exactly_k_pairs(name, tokenizer):
    samples = draw(name, tokenizer, 2048, num_incontext=3)
    for i in range(len(samples)):
        pairs = pairs_of(samples, tokenizer, i)
        assert len(pairs) == 3 and not pairs[-1].endswith(cue(name))
        assert not samples.attention_mask[i, -1]


def test_gsm8k_cot_steps(tokenizer):
    samples = draw("gsm8k", tokenizer, 2048, format="icl-cot", num_cot_steps=3, nsamples=1)
    task = get_task("gsm8k")
    for pair in pairs_of(samples, tokenizer, 0)[:-1]:
        rationale = pair.split("Answer: ", 1)[1].rsplit(" The answer is", 1)[0]
        assert len(rationale.splitlines()) == 3
    assert task.default_shots == 8


@pytest.mark.parametrize("name", ["c4", "pile", "redpajama", "wikitext"])
def test_pretraining_windows_are_seqlen_long(name, tokenizer):
    samples = draw(name, tokenizer, 512, nsamples=8)
    assert samples.input_ids.shape == (8, 512) and samples.attention_mask.all()
    assert len({tuple(row) for row in samples.input_ids.tolist()}) == 8
    again = draw(name, tokenizer, 512, nsamples=8)
    other = draw(name, tokenizer, 512, nsamples=8, seed=1)
    assert torch.equal(samples.input_ids, again.input_ids) and not torch.equal(samples.input_ids, other.input_ids)
