"""The embedded SmolLM2-135M on ../shared/data: dense beats 70%-magnitude-pruned; arithmetic tasks run end to end."""

import copy
import math

import pytest
import torch

from calibprune.engine.magnitude import magnitude_mask
from calibprune.engine.sparsity import SparsityPattern
from calibprune.evaluation.api import evaluate_model
from calibprune.evaluation.results import mean_metric, results_table
from calibprune.modeling.blocks import decoder_blocks, linear_layers
from tests.conftest import SHARED_DATA

MULTIPLE_CHOICE = ("esnli", "anli_r1", "anli_r2", "anli_r3", "rte", "boolq", "commonsense_qa", "race", "winogrande")
ARITHMETIC = ("gsm8k", "svamp", "mawps")


def present(names):
    return [name for name in names if (SHARED_DATA / name / "test.jsonl").is_file()]


@pytest.fixture(scope="module")
def dense_and_pruned(shared_data):
    from calibprune.modeling.loading import load_model, load_tokenizer

    dense = load_model("embedded")
    pruned = copy.deepcopy(dense)
    with torch.no_grad():
        for block in decoder_blocks(pruned)[1]:
            for layer in linear_layers(block).values():
                layer.weight[magnitude_mask(layer.weight, SparsityPattern(0.7))] = 0.0
    return load_tokenizer("embedded"), dense, pruned


@pytest.mark.slow
@pytest.mark.data
def test_dense_beats_70_percent_magnitude_pruning(dense_and_pruned, shared_data):
    tokenizer, dense, pruned = dense_and_pruned
    tasks = ["wikitext", *present(MULTIPLE_CHOICE)]
    options = dict(data_dir=str(shared_data), seqlen=256, limit=16, num_fewshot=1, batch_size=8)
    results = {
        "dense": evaluate_model(dense, tokenizer, tasks, **options),
        "magnitude 70%": evaluate_model(pruned, tokenizer, tasks, **options),
    }
    print("\n" + results_table(results))
    ppl = {name: next(r.value for r in rs if r.metric == "ppl") for name, rs in results.items()}
    accuracy = {name: mean_metric(rs, "acc") for name, rs in results.items()}
    print(f"wikitext ppl {ppl}; multiple-choice average {accuracy}")
    assert ppl["dense"] < 100 < ppl["magnitude 70%"]
    assert accuracy["dense"] > accuracy["magnitude 70%"]
    assert all(r.n == 16 for r in results["dense"] if r.metric == "acc")


@pytest.mark.slow
@pytest.mark.data
def test_arithmetic_tasks_evaluate_the_embedded_model(dense_and_pruned, shared_data):
    tokenizer, dense, _ = dense_and_pruned
    tasks = present(ARITHMETIC)
    results = evaluate_model(
        dense, tokenizer, tasks, data_dir=str(shared_data), limit=4, num_fewshot=1, max_new_tokens=16
    )
    assert [(r.task, r.metric, r.n) for r in results] == [(task, "exact_match", 4) for task in tasks]
    assert all(math.isfinite(r.value) for r in results)
