import json
import string

import pytest
import torch

from calibprune.datamodules.sources import SOURCES, SourceContext, SourceOptions, build_source
from calibprune.tasks import TASKS, DataUnavailableError


def draw(spec, tokenizer, data_dir=None, seqlen=64, nsamples=4, seed=0, **options):
    source = build_source(spec, SourceOptions(**options))
    context = SourceContext(tokenizer=tokenizer, seqlen=seqlen, data_dir=str(data_dir) if data_dir else None)
    return source.samples(context, nsamples, torch.Generator().manual_seed(seed))


def test_registry_holds_every_source_of_the_study():
    expected = {"c4", "pile", "oscar", "redpajama", "wikitext", "ellipses", "random", "self", *TASKS}
    assert expected == set(SOURCES)


def test_unknown_spec_names_the_flag_and_the_accepted_values():
    with pytest.raises(ValueError, match=r"--calibration: unknown source 'c5'; accepted: .*c4.*hf:<dataset_id>"):
        build_source("c5")


def test_pretraining_windows_are_seqlen_long_and_unpadded(tokenizer, data_dir):
    samples = draw("c4", tokenizer, data_dir, seqlen=64, nsamples=8)
    assert samples.input_ids.shape == (8, 64) and samples.attention_mask.all()
    rows = {tuple(row) for row in samples.input_ids.tolist()}
    assert len(rows) == 8
    assert "word" in tokenizer.decode(samples.input_ids[0])
    assert not torch.equal(samples.input_ids, draw("c4", tokenizer, data_dir, nsamples=8, seed=1).input_ids)
    assert torch.equal(samples.input_ids, draw("c4", tokenizer, data_dir, nsamples=8).input_ids)


def test_pretraining_data_seqlen_pads(tokenizer, data_dir):
    samples = draw("c4", tokenizer, data_dir, seqlen=64, data_seqlen=20)
    assert (samples.attention_mask.sum(dim=1) == 20).all() and not samples.attention_mask[:, 20:].any()


def test_wikitext_reads_its_test_split_in_order(tokenizer, data_dir):
    samples = draw("wikitext", tokenizer, data_dir, seqlen=32, nsamples=3)
    text = tokenizer.decode(samples.input_ids[0])
    assert "of the article" in text and samples.attention_mask.all()


def test_offline_corpus_without_local_copy_says_how_to_get_one(tokenizer, tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("offline")))
    with pytest.raises(DataUnavailableError, match=r"pile: cannot load monology/pile-uncopyrighted .* --data_dir"):
        draw("pile", tokenizer, tmp_path)
    with pytest.raises(DataUnavailableError, match=r"hf:some/corpus:en split 'train'.*local \.jsonl"):
        draw("hf:some/corpus:en", tokenizer)


def test_hub_text_source_streams_the_chosen_field(tokenizer, monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(path, name=None, split=None, streaming=False):
        calls.append((path, name, split, streaming))
        return iter([{"body": "some words " * 50}] * 4)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    samples = draw("hf:org/corpus", tokenizer, text_field="body", split="validation", nsamples=2)
    assert calls == [("org/corpus", None, "validation", True)]
    assert "some words" in tokenizer.decode(samples.input_ids[0])


def test_ellipses_are_dots_only(tokenizer):
    samples = draw("ellipses", tokenizer, seqlen=48, nsamples=3)
    assert samples.attention_mask.all()
    assert set(tokenizer.decode(samples.input_ids[0])) == {"."}


def test_random_is_seeded_alphanumeric(tokenizer):
    samples = draw("random", tokenizer, seqlen=48, nsamples=3, seed=5)
    texts = [tokenizer.decode(row) for row in samples.input_ids]
    assert all(set(text) <= set(string.ascii_letters + string.digits) for text in texts)
    assert len(set(texts)) == 3 and samples.attention_mask.all()
    assert torch.equal(samples.input_ids, draw("random", tokenizer, seqlen=48, nsamples=3, seed=5).input_ids)
    assert not torch.equal(samples.input_ids, draw("random", tokenizer, seqlen=48, nsamples=3, seed=6).input_ids)


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".parquet", ".txt"])
def test_local_text_files(tokenizer, tmp_path, suffix):
    rows = [{"content": f"row {i} " + "lorem ipsum dolor " * 20} for i in range(10)]
    path = tmp_path / f"corpus{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif suffix == ".json":
        path.write_text(json.dumps(rows))
    elif suffix == ".txt":
        path.write_text("\n".join(r["content"] for r in rows))
    else:
        import pandas

        frame = pandas.DataFrame(rows)
        frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    samples = draw(str(path), tokenizer, text_field="content", nsamples=3)
    assert samples.attention_mask.all() and "lorem ipsum" in tokenizer.decode(samples.input_ids[0])


def test_local_file_with_wrong_field_names_the_option(tokenizer, tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps({"body": "x"}) + "\n")
    with pytest.raises(ValueError, match=r"^text_field: 'text' is not a column of .*columns: body"):
        draw(str(path), tokenizer)
