import pytest
import torch

from calibprune.errors import OptionError
from calibprune.evaluation.datamodule import EvaluationDataModule, padding_bounded_batches
from calibprune.evaluation.requests import ChoiceRequest, GenerationRequest


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"tasks": ["nope"]}, "tasks"),
        ({"seqlen": 0}, "seqlen"),
        ({"batch_size": 0}, "batch_size"),
        ({"limit": 0}, "limit"),
        ({"num_fewshot": -1}, "num_fewshot"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
    ],
)
def test_bad_options_name_their_parameter(kwargs, parameter):
    with pytest.raises(OptionError) as error:
        EvaluationDataModule(**kwargs)
    assert error.value.parameter == parameter


def test_seqlen_beyond_the_model_context_is_refused(tokenizer):
    with pytest.raises(ValueError, match="seqlen: 4096 exceeds"):
        EvaluationDataModule(["wikitext"], seqlen=4096).connect(tokenizer, max_length=2048)


def test_settings_hold_what_results_depend_on():
    dm = EvaluationDataModule(["wikitext", "boolq", "gsm8k"], seqlen=128, limit=5, rationale=True, data_dir="d")
    assert dm.settings("wikitext") == {"kind": "perplexity", "seqlen": 128, "limit": 5, "data_dir": "d"}
    boolq, gsm8k = dm.settings("boolq"), dm.settings("gsm8k")
    assert (boolq["kind"], boolq["num_fewshot"], boolq["rationale"]) == ("multiple_choice", 3, False)
    assert (gsm8k["kind"], gsm8k["num_fewshot"], gsm8k["rationale"]) == ("arithmetic", 8, True)


def test_one_dataloader_per_task_longest_items_first(local_data, tokenizer):
    dm = EvaluationDataModule(
        ["wikitext", "boolq", "gsm8k"], seqlen=32, batch_size=4, limit=5, num_fewshot=2, data_dir=str(local_data)
    )
    dm.connect(tokenizer)
    windows, boolq, gsm8k = dm.test_dataloader()
    indices, first = next(iter(windows))
    assert isinstance(first, torch.Tensor) and first.shape == (4, 32)
    assert indices.tolist() == [0, 1, 2, 3]
    items = [item for batch in boolq for item in batch]
    assert len(items) == 5 and all(isinstance(i, ChoiceRequest) for i in items)
    assert [i.length for i in items] == sorted((i.length for i in items), reverse=True)
    assert all(isinstance(i, GenerationRequest) for batch in gsm8k for i in batch)
    assert dm.transfer_batch_to_device(items, torch.device("cpu"), 1) is items


def test_setup_needs_the_tokenizer():
    with pytest.raises(RuntimeError, match="connect"):
        EvaluationDataModule(["wikitext"]).setup("test")


def test_settings_of_a_local_file_follow_its_content(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("one", encoding="utf-8")
    dm = EvaluationDataModule([str(path)])
    before = dm.settings(str(path))
    path.write_text("one two", encoding="utf-8")
    assert dm.settings(str(path)) != before


def test_multiple_choice_batches_bound_their_padding():
    lengths = sorted([700, 650, 640, 600, 420, 410, 400, 390, 380, 120, 118, 117, 30], reverse=True)
    batches = padding_bounded_batches(lengths, batch_size=4)
    assert [i for batch in batches for i in batch] == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 4
        padded, real = lengths[batch[0]] * len(batch), sum(lengths[i] for i in batch)
        assert padded <= 1.1 * real
    assert [len(b) for b in batches] == [4, 4, 1, 3, 1]
