import pytest
import torch

from calibprune.evaluation.corpora import CORPORA, corpus_windows, is_corpus
from calibprune.evaluation.perplexity import split_windows, window_nll
from tests.conftest import shared_source


def test_split_windows_drops_the_tail_and_caps_the_count():
    tokens = torch.arange(1000)
    windows = split_windows(tokens, 128)
    assert windows.shape == (7, 128)  # 1000 // 128, the last 104 tokens dropped
    assert torch.equal(windows[1], torch.arange(128, 256))
    assert split_windows(tokens, 128, max_windows=3).shape == (3, 128)
    with pytest.raises(ValueError, match="--seqlen"):
        split_windows(tokens, 2000)


def test_window_nll_equals_a_direct_cross_entropy(tiny_llama):
    torch.manual_seed(0)
    windows = torch.randint(0, 1000, (3, 16))
    nll, count = window_nll(tiny_llama, windows)
    assert count.tolist() == [15, 15, 15]
    for row in range(3):
        logits = tiny_llama(windows[row : row + 1]).logits[0, :-1].float()
        direct = torch.nn.functional.cross_entropy(logits, windows[row, 1:], reduction="sum")
        assert nll[row].item() == pytest.approx(direct.item(), rel=1e-5)


def test_corpus_windows_joins_rows_with_blank_lines_as_the_protocol(local_data, tokenizer):
    text = "\n\n".join([""] + [f" The quick brown fox number {i} jumps over the lazy dog .\n" for i in range(200)])
    expected = len(tokenizer(text)["input_ids"]) // 64
    windows = corpus_windows("wikitext", tokenizer, 64, str(local_data))
    assert windows.shape == (expected, 64)
    assert corpus_windows("wikitext", tokenizer, 64, str(local_data), limit=2).shape == (2, 64)


def test_local_text_files_are_corpora(tmp_path, tokenizer):
    path = tmp_path / "notes.txt"
    path.write_text("hello world, " * 200, encoding="utf-8")
    assert is_corpus(str(path)) and not is_corpus(str(tmp_path / "absent.txt")) and is_corpus("wikitext")
    assert corpus_windows(str(path), tokenizer, 32, None).shape[1] == 32


def test_c4_follows_wandas_protocol():
    c4 = CORPORA["c4"]
    assert (c4.separator, c4.max_documents, c4.max_windows, c4.local_split) == (" ", 1100, 256, "validation")
    assert c4.hub.data_files == "en/c4-validation.00000-of-00008.json.gz"


@pytest.mark.data
def test_wikitext_test_split_window_count(tokenizer):
    rows = [r for r in (shared_source("wikitext") / "test.jsonl").read_text(encoding="utf-8").splitlines() if r]
    assert len(rows) == 4358
    windows = corpus_windows("wikitext", tokenizer, 2048, str(shared_source("wikitext").parent))
    # The embedded tokenizer cuts the joined split into 304,986 tokens: 148 full windows of 2048, tail dropped.
    assert windows.shape == (148, 2048)


@pytest.mark.data
def test_c4_validation_keeps_at_most_256_windows(tokenizer):
    windows = corpus_windows("c4", tokenizer, 128, str(shared_source("c4").parent))
    assert windows.shape == (256, 128)  # 1100 documents hold more: capped as Wanda does
