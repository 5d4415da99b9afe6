"""``evaluate`` reads any causal LM: weights calibprune cannot prune are listed in the summary, not an error."""

import pytest
import torch
from torch import nn

from calibprune.evaluation.datamodule import EvaluationDataModule
from calibprune.evaluation.module import EvaluationModule
from calibprune.modeling.loading import load_model
from calibprune.modeling.plan import PruningPlan
from calibprune.prune.report import sparsity_report
from calibprune.prune.trainer import PruningTrainer


def _with_unknown_weight(tiny_llama_dir):
    model = load_model(str(tiny_llama_dir))
    model.model.layers[1].mlp.register_parameter("scale_matrix", nn.Parameter(torch.ones(4, 4)))
    return model


def test_a_lenient_plan_lists_unknown_weights_and_a_strict_one_still_refuses(tiny_llama_dir):
    model = _with_unknown_weight(tiny_llama_dir)
    report = sparsity_report(model, PruningPlan.build(model, strict=False))
    assert report["coverage"]["unknown_weights"] == ["model.layers.1.mlp.scale_matrix ((4, 4), in a LlamaMLP)"]
    assert report["coverage"]["not_pruned"]["weights of unknown kinds"] == 16
    assert report["layers"] and report["global"]["sparsity"] == 0
    assert "unknown_weights" not in sparsity_report(load_model(str(tiny_llama_dir)))["coverage"]
    with pytest.raises(ValueError, match="does not know how to prune"):
        PruningPlan.build(model)


def test_evaluate_reports_unknown_weight_kinds_instead_of_failing(tiny_llama_dir, tokenizer, local_data, capsys):
    module = EvaluationModule.from_model(_with_unknown_weight(tiny_llama_dir), tokenizer)
    datamodule = EvaluationDataModule(["wikitext"], seqlen=32, limit=2, data_dir=str(local_data))
    trainer = PruningTrainer(accelerator="cpu", devices=1, enable_progress_bar=False, logger=False)
    results = trainer.evaluate(module, datamodule)
    assert [(r.task, r.metric, r.n) for r in results] == [("wikitext", "ppl", 2), ("wikitext", "nll", 2)]
    out = capsys.readouterr().out
    unknown = "model.layers.1.mlp.scale_matrix ((4, 4), in a LlamaMLP)"
    assert f"not measured (kinds calibprune cannot prune): {unknown}" in out
