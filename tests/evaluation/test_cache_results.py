import copy
import json

import pytest
import torch

from calibprune.evaluation.cache import ResultCache, path_fingerprint, weights_fingerprint
from calibprune.evaluation.results import TaskResult, mean_metric, results_table

RESULTS = [
    TaskResult("boolq", "acc", 0.75, 0.1, 16, 3),
    TaskResult("rte", "acc", 0.5, 0.12, 16, 5),
    TaskResult("wikitext", "ppl", 12.5, 0.3, 4),
]


def test_result_records_round_trip_through_json():
    data = json.loads(json.dumps([r.to_dict() for r in RESULTS]))
    assert [TaskResult.from_dict(d) for d in data] == RESULTS
    assert set(data[0]) == {"task", "metric", "value", "stderr", "n", "num_fewshot", "per_item"}


def test_mean_metric_and_side_by_side_table():
    assert mean_metric(RESULTS, "acc") == pytest.approx(0.625)
    with pytest.raises(ValueError, match="bleu"):
        mean_metric(RESULTS, "bleu")
    pruned = [TaskResult("boolq", "acc", 0.5, None, 16, 3)]
    table = results_table({"dense": RESULTS, "pruned": pruned}).splitlines()
    assert table[0] == "| task | metric | n | dense | pruned |"
    assert table[2] == "| boolq | acc | 16 | 0.7500 ± 0.1000 | 0.5000 |"
    assert table[3].endswith("| 0.5000 ± 0.1200 | - |")


def test_cache_round_trip_and_keys(tmp_path):
    cache = ResultCache(tmp_path)
    key = cache.key("model-a", "boolq", {"limit": 16, "num_fewshot": 3})
    assert key == cache.key("model-a", "boolq", {"num_fewshot": 3, "limit": 16})
    assert key != cache.key("model-b", "boolq", {"limit": 16, "num_fewshot": 3})
    assert key != cache.key("model-a", "boolq", {"limit": 32, "num_fewshot": 3})
    assert cache.get(key) is None
    cache.put(key, RESULTS[:1], {"task": "boolq"})
    assert cache.get(key) == RESULTS[:1]


def test_weights_fingerprint_changes_when_a_weight_is_pruned(tiny_llama):
    pruned = copy.deepcopy(tiny_llama)
    assert weights_fingerprint(pruned) == weights_fingerprint(tiny_llama)
    with torch.no_grad():
        pruned.model.layers[0].mlp.up_proj.weight[0, 0] = 0.0
    assert weights_fingerprint(pruned) != weights_fingerprint(tiny_llama)


def test_path_fingerprint_follows_the_weight_files(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"12345")
    before = path_fingerprint(str(tmp_path))
    assert before == path_fingerprint(str(tmp_path))
    (tmp_path / "model.safetensors").write_bytes(b"123456")
    assert path_fingerprint(str(tmp_path)) != before
    assert path_fingerprint("org/some-hub-model") != path_fingerprint("org/other-hub-model")
