"""The GPU benchmark (``python -m benchmarks.gpu``) end to end on the CPU with the tiny shape."""

import importlib.util
import json

import pytest

from benchmarks.gpu import run
from benchmarks.gpu.shapes import SHAPES, model_config, word_tokenizer


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_has_a_config_of_its_real_width(shape):
    config = model_config(shape, blocks=2)
    assert config.num_hidden_layers == 2 and config.hidden_size == SHAPES[shape]["hidden_size"]
    assert not config.tie_word_embeddings


def test_word_tokenizer_maps_words_to_their_ids():
    tokenizer = word_tokenizer(50)
    assert tokenizer("w3 w49", add_special_tokens=False)["input_ids"] == [3, 49]
    assert tokenizer.eos_token_id == 2 and len(tokenizer) == 50


def test_tiny_run_on_the_cpu_gives_the_issue_table(tmp_path):
    """Wanda only: each implementation is a fresh process (imports alone take seconds on a CPU)."""
    output = tmp_path / "results.json"
    run.main(
        ["--shape", "tiny", "--blocks", "2", "--nsamples", "4", "--seqlen", "32", "--batch_size", "2"]
        + ["--dtype", "float32", "--device", "cpu", "--methods", "wanda"]
        + ["--workdir", str(tmp_path / "work"), "--output", str(output)]
    )
    results = json.loads(output.read_text())
    rows = {(r["method"], r["impl"]): r for r in results["runs"]}
    for impl in ("calibprune", "original"):
        row = rows["wanda", impl]
        assert row["status"] == "ok" and row["seconds"] > 0 and row["peak_rss_mib"] >= row["loaded_rss_mib"]
    assert rows["wanda", "calibprune"]["masks_equal_calibprune"] == 1.0
    assert rows["wanda", "original"]["masks_equal_calibprune"] >= 0.999
    limit = rows["all", "limit"]
    assert limit["status"] == "ok" and 0 < limit["wanda"] < limit["sparsegpt_with_hessian"]
    if importlib.util.find_spec("llmcompressor") is None:
        assert rows["wanda", "llmcompressor"]["status"] == "not installed"
        assert "| Wanda 50% | llm-compressor | not installed |" in results["table"]
    lines = results["table"].splitlines()
    assert lines[0].startswith("| method | implementation | prune s | x llm-compressor | x limit | peak RSS MiB")
    assert sum(line.startswith("| Wanda 50% | physical limit |") for line in lines) == 1
    assert any(line.startswith("| Wanda 50% | original code | ") and line.endswith("% |") for line in lines)
