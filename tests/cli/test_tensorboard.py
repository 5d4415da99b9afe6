"""TensorBoard by default: one run directory per run; tags and values read back from the event files."""

import json

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from transformers import AutoModelForCausalLM

from tests.cli.helpers import prune_args, run_cli

LAYERS = (
    "self_attn.q_proj",
    "self_attn.k_proj",
    "self_attn.v_proj",
    "self_attn.o_proj",
    "mlp.gate_proj",
    "mlp.up_proj",
    "mlp.down_proj",
)


def read_run(run_dir) -> EventAccumulator:
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    events.Reload()
    return events


def run_hparams(events: EventAccumulator) -> dict:
    content = events.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
    hparams = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
    return {key: value.string_value or value.number_value for key, value in hparams.items()}


@pytest.fixture(scope="module")
def wanda_run(tmp_path_factory, tiny_llama_dir, token_file):
    """One Wanda 50% run with the default logger, in a folder of its own."""
    import os

    folder = tmp_path_factory.mktemp("wanda-run")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        from calibprune.cli import main

        main(prune_args(tiny_llama_dir, token_file, "--save_model", "out"))
    finally:
        os.chdir(cwd)
    (run_dir,) = (folder / "runs" / "prune").iterdir()
    return folder, run_dir, read_run(run_dir)


def test_run_directory_holds_events_config_and_hparams(wanda_run):
    _, run_dir, _ = wanda_run
    names = {path.name for path in run_dir.iterdir()}
    assert {"config.yaml", "hparams.yaml"} <= names
    assert any(name.startswith("events.out.tfevents") for name in names)


def test_per_layer_sparsity_matches_the_saved_report(wanda_run):
    folder, _, events = wanda_run
    report = json.loads((folder / "out" / "sparsity_report.json").read_text())
    for name in LAYERS:
        logged = events.Scalars(f"sparsity/{name}")
        assert [e.step for e in logged] == [0, 1]
        for event in logged:
            assert event.value == pytest.approx(report["layers"][f"model.layers.{event.step}.{name}"]["sparsity"])
    assert events.Scalars("sparsity/global")[-1].value == pytest.approx(0.5)


def _block0_q_inputs(model_dir, token_file, batches):
    """What q_proj of block 0 reads: the normalised embeddings of the calibration tokens (real tokens only)."""
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    data = torch.load(token_file)
    ids, mask = data["input_ids"][: 2 * batches], data["attention_mask"][: 2 * batches].bool()
    with torch.no_grad():
        hidden = model.model.layers[0].input_layernorm(model.model.embed_tokens(ids))
    return hidden[mask], model.model.layers[0].self_attn.q_proj.weight


def test_reconstruction_error_on_the_first_batch(wanda_run, tiny_llama_dir, token_file):
    folder, _, events = wanda_run
    inputs, dense = _block0_q_inputs(tiny_llama_dir, token_file, batches=1)
    pruned = AutoModelForCausalLM.from_pretrained(folder / "out").model.layers[0].self_attn.q_proj.weight
    with torch.no_grad():
        expected = (inputs @ (dense - pruned).T).norm() / (inputs @ dense.T).norm()
    logged = events.Scalars("reconstruction_error/self_attn.q_proj")
    assert logged[0].value == pytest.approx(float(expected), rel=1e-4)
    assert all(0 < e.value < 1 for name in LAYERS for e in events.Scalars(f"reconstruction_error/{name}"))


def test_wanda_norm_histograms_once_per_distinct_input(wanda_run, tiny_llama_dir, token_file):
    _, _, events = wanda_run
    histograms = events.Tags()["histograms"]
    assert set(histograms) == {
        f"activation_norms/{n}" for n in ("self_attn.q_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.down_proj")
    }
    inputs, _ = _block0_q_inputs(tiny_llama_dir, token_file, batches=3)
    norms = inputs.square().sum(0).sqrt()
    first = events.Histograms("activation_norms/self_attn.q_proj")[0]
    assert first.step == 0 and first.histogram_value.num == 32
    assert first.histogram_value.sum == pytest.approx(float(norms.sum()), rel=1e-4)
    assert first.histogram_value.max == pytest.approx(float(norms.max()), rel=1e-4)


def test_decoded_calibration_samples(wanda_run, tokenizer, token_file):
    _, _, events = wanda_run
    texts = events.Tensors("calibration/samples/text_summary")
    assert [t.step for t in texts] == [0, 1, 2]
    first = texts[0].tensor_proto.string_val[0].decode()
    assert first.startswith("sample 1/6: 32 tokens + 0 padding")
    assert tokenizer.decode(torch.load(token_file)["input_ids"][0][:5]) in first


def test_hyperparameters_and_final_metrics(wanda_run, tiny_llama_dir):
    _, _, events = wanda_run
    hparams = run_hparams(events)
    assert hparams["method"] == "Wanda" and hparams["sparsity_type"] == "unstructured"
    assert hparams["sparsity_ratio"] == 0.5 and hparams["nsamples"] == 6 and hparams["seqlen"] == 32
    assert hparams["model"] == str(tiny_llama_dir)


def test_sparsegpt_logs_hessian_diagonals_in_a_new_run(capsys, in_tmp_dir, tiny_llama_dir, token_file):
    for method in ("sparsegpt", "magnitude"):
        assert run_cli(capsys, *prune_args(tiny_llama_dir, token_file, "--prune_method", method))[0] == 0
    runs = sorted((in_tmp_dir / "runs" / "prune").iterdir())
    assert len(runs) == 2
    sparsegpt, magnitude = (read_run(run) for run in runs)
    assert "hessian_diagonal/self_attn.q_proj" in sparsegpt.Tags()["histograms"]
    assert not any(tag.startswith("activation_norms") for tag in sparsegpt.Tags()["histograms"])
    assert run_hparams(magnitude)["method"] == "Magnitude"
    assert "sparsity/mlp.up_proj" in magnitude.Tags()["scalars"]
    assert "reconstruction_error/mlp.up_proj" not in magnitude.Tags()["scalars"]  # no calibration data


def test_logger_off_writes_no_run(capsys, in_tmp_dir, tiny_llama_dir, token_file):
    assert run_cli(capsys, *prune_args(tiny_llama_dir, token_file, "--trainer.logger", "false"))[0] == 0
    assert list(in_tmp_dir.iterdir()) == []
