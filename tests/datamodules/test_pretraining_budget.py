"""Pre-training corpora of ../shared/data on one token budget: the same window rule, no silent text reuse."""

import logging

import pytest
import torch

from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.datamodules.sources import SourceContext, SourceOptions, build_source
from calibprune.datamodules.sources.packing import PoolTooSmallError
from calibprune.tasks import DataUnavailableError
from tests.conftest import shared_source

PRETRAINING = ["c4", "pile", "redpajama"]


def context(tokenizer, seqlen, data_dir):
    return SourceContext(tokenizer=tokenizer, seqlen=seqlen, data_dir=str(data_dir))


def draw(spec, tokenizer, seqlen, nsamples, seed=0, **options):
    folder = shared_source(spec)
    source = build_source(spec, SourceOptions(**options))
    return source.samples(context(tokenizer, seqlen, folder.parent), nsamples, torch.Generator().manual_seed(seed))


def shared_ngrams(rows, n=32):
    seen, repeated = {}, 0
    for i, row in enumerate(rows):
        for j in range(0, len(row) - n + 1, n):
            key = tuple(row[j : j + n])
            repeated += seen.setdefault(key, i) != i
    return repeated


@pytest.mark.data
@pytest.mark.parametrize("name", PRETRAINING)
def test_equal_budget_windows_never_share_text(name, tokenizer):
    # 32 x 2048 = 65,536 tokens: what the ~81k-token Pile sample allows; every corpus gets the same budget.
    samples = draw(name, tokenizer, 2048, 32)
    assert samples.input_ids.shape == (32, 2048) and samples.attention_mask.all()
    assert shared_ngrams(samples.input_ids.tolist()) == 0


@pytest.mark.data
def test_pile_pool_size_and_clear_error_when_the_budget_exceeds_it(tokenizer):
    folder = shared_source("pile")
    source = build_source("pile")
    tokens = source.pool_tokens(context(tokenizer, 2048, folder.parent))
    assert 70_000 < tokens < 95_000
    with pytest.raises(
        PoolTooSmallError,
        match=r"--nsamples 128 x --seqlen 2048: calibration source 'pile' is too "
        r"small: the text holds \d+ tokens, .*--data.allow_overlap true",
    ):
        draw("pile", tokenizer, 2048, 128)


@pytest.mark.data
def test_allow_overlap_reuses_text_with_a_warning(tokenizer, caplog):
    with caplog.at_level(logging.WARNING):
        samples = draw("pile", tokenizer, 2048, 64, allow_overlap=True)
    assert samples.input_ids.shape == (64, 2048)
    assert "windows overlap" in caplog.text


@pytest.mark.data
def test_datamodule_option_reaches_the_source(tokenizer):
    folder = shared_source("pile")
    module = CalibrationDataModule(["pile"], nsamples=64, seqlen=2048, data_dir=str(folder.parent))
    module.connect(tokenizer)
    with pytest.raises(PoolTooSmallError, match="'pile' is too small"):
        module.build_samples()
    module = CalibrationDataModule(["pile"], nsamples=64, seqlen=2048, data_dir=str(folder.parent), allow_overlap=True)
    module.connect(tokenizer)
    assert module.build_samples().input_ids.shape == (64, 2048)


@pytest.mark.data
@pytest.mark.parametrize("name", PRETRAINING)
def test_data_seqlen_pads_every_corpus(name, tokenizer):
    samples = draw(name, tokenizer, 256, 4, data_seqlen=100)
    assert (samples.attention_mask.sum(dim=1) == 100).all()


@pytest.mark.data
@pytest.mark.parametrize("name", PRETRAINING)
def test_task_formats_are_refused_for_corpora(name, tmp_path):
    with pytest.raises(ValueError, match="appl(y|ies) to task sources"):
        CalibrationDataModule([name], format="zero-shot", data_dir=str(shared_source(name).parent))


def test_oscar_keeps_its_hub_path_and_fails_cleanly_offline(tokenizer, tmp_path, monkeypatch):
    import datasets

    source = build_source("oscar")
    assert source.hub.path == "oscar-corpus/OSCAR-2201" and source.hub.name == "en"
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("offline")))
    with pytest.raises(DataUnavailableError, match=r"oscar: cannot load oscar-corpus/OSCAR-2201 \(en\)"):
        source.samples(context(tokenizer, 64, tmp_path), 2, torch.Generator())
