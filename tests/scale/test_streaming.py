"""Onloading (weights on the CPU, one block on the device) and streaming (weights on disk) give the same model."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM

from calibprune.callbacks import SparseGPT, Wanda
from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.modeling.safetensors_io import INDEX_FILE, SafetensorsCheckpoint
from calibprune.modeling.streaming import build_skeleton, materialise_outside_blocks
from calibprune.prune.module import PruningModule
from calibprune.prune.trainer import PruningTrainer
from tests.scale.conftest import assert_bitwise_equal, saved_tensors


def prune(model_dir, tokens, out, method=Wanda, **module_options):
    trainer = PruningTrainer(callbacks=[method()], enable_progress_bar=False, accelerator="cpu", devices=1)
    module = PruningModule(str(model_dir), **module_options)
    data = CalibrationDataModule([str(tokens)], nsamples=6, seqlen=32, batch_size=2)
    report = trainer.prune(module, data, save_model=str(out) if out else None)
    return module, report


@pytest.fixture(scope="module", params=[Wanda, SparseGPT], ids=["Wanda", "SparseGPT"])
def in_memory(request, tiny4_dir, calibration_tokens, tmp_path_factory):
    out = tmp_path_factory.mktemp("in-memory") / "model"
    _, report = prune(tiny4_dir, calibration_tokens, out, request.param)
    return request.param, out, report


@pytest.mark.parametrize(
    "options",
    [{"onload": True}, {"stream": True}, {"stream": True, "offload_activations": True}],
    ids=["onload", "stream", "stream-offload"],
)
def test_onloaded_and_streamed_models_equal_in_memory_bitwise(
    in_memory, tiny4_dir, calibration_tokens, tmp_path, options
):
    method, expected, expected_report = in_memory
    module, report = prune(tiny4_dir, calibration_tokens, tmp_path / "model", method, **options)
    assert_bitwise_equal(saved_tensors(expected), saved_tensors(tmp_path / "model"))
    assert report == expected_report
    assert list(module.parameters()) == []  # kept out of the strategy's reach: never moved to the device
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # work directory removed after the save


def test_streamed_save_is_a_sharded_checkpoint_that_reloads(in_memory, tiny4_dir, calibration_tokens, tmp_path):
    method, expected, _ = in_memory
    module, _ = prune(tiny4_dir, calibration_tokens, tmp_path / "model", method, stream=True)
    assert all(p.is_meta for n, p in module.model.named_parameters() if ".layers." in n)  # blocks freed
    index = json.loads((tmp_path / "model" / INDEX_FILE).read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert shards == [f"model-{i:05d}-of-00005.safetensors" for i in range(1, 6)]  # one per block + the rest
    assert "lm_head.weight" not in index["weight_map"]  # tied to the embeddings, saved once
    streamed = AutoModelForCausalLM.from_pretrained(tmp_path / "model")
    reference = AutoModelForCausalLM.from_pretrained(expected)
    assert streamed.lm_head.weight.data_ptr() == streamed.model.embed_tokens.weight.data_ptr()
    assert streamed.config.vocab_size == reference.config.vocab_size
    ids = torch.randint(0, 1000, (2, 12), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(streamed(ids).logits, reference(ids).logits)


def test_streaming_reads_sharded_checkpoints(tiny4_dir, calibration_tokens, tmp_path):
    AutoModelForCausalLM.from_pretrained(tiny4_dir).save_pretrained(tmp_path / "sharded", max_shard_size="1MB")
    assert (tmp_path / "sharded" / INDEX_FILE).is_file()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (tmp_path / "sharded" / name).write_bytes((tiny4_dir / name).read_bytes())
    prune(tiny4_dir, calibration_tokens, tmp_path / "single", stream=True)
    prune(tmp_path / "sharded", calibration_tokens, tmp_path / "from-shards", stream=True)
    assert_bitwise_equal(saved_tensors(tmp_path / "single"), saved_tensors(tmp_path / "from-shards"))


def test_streaming_without_save_reports_and_leaves_nothing(tiny4_dir, calibration_tokens):
    module, report = prune(tiny4_dir, calibration_tokens, None, stream=True)
    assert report["global"]["sparsity"] == pytest.approx(0.5)
    assert len(report["layers"]) == 4 * 7
    scratch = module.run_checkpoint.path
    module.run_checkpoint.discard()
    assert not scratch.exists()


def test_skeleton_holds_only_the_weights_outside_the_blocks(tiny4_dir):
    model = build_skeleton(tiny4_dir, "bfloat16")
    assert all(p.is_meta for p in model.parameters())
    assert not model.model.rotary_emb.inv_freq.is_meta  # computed buffers are real
    materialise_outside_blocks(model, SafetensorsCheckpoint(tiny4_dir))
    real = {n for n, p in model.named_parameters() if not p.is_meta}
    assert real == {"model.embed_tokens.weight", "model.norm.weight"}  # lm_head is the tied embedding
    assert model.lm_head.weight is model.model.embed_tokens.weight
    assert model.model.embed_tokens.weight.dtype == torch.bfloat16


def test_streaming_needs_safetensors(tmp_path):
    with pytest.raises(FileNotFoundError, match="--model.stream: .* holds no model.safetensors"):
        SafetensorsCheckpoint(tmp_path)
    with pytest.raises(ValueError, match="--model.stream reads safetensors checkpoints, not GGUF"):
        PruningModule(str(tmp_path / "model.gguf"), stream=True).configure_model()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_onloading_to_cuda_keeps_weights_on_cpu_and_gives_cpu_masks(tiny4_dir, calibration_tokens, tmp_path):
    prune(tiny4_dir, calibration_tokens, tmp_path / "cpu")
    trainer = PruningTrainer(callbacks=[Wanda()], enable_progress_bar=False, accelerator="cuda", devices=1)
    module = PruningModule(str(tiny4_dir), onload=True)
    data = CalibrationDataModule([str(calibration_tokens)], nsamples=6, seqlen=32, batch_size=2)
    trainer.prune(module, data, save_model=str(tmp_path / "cuda"))
    assert all(p.device.type == "cpu" for p in module.model.parameters())
    cpu, cuda = saved_tensors(tmp_path / "cpu"), saved_tensors(tmp_path / "cuda")
    for name, weight in cpu.items():
        assert torch.equal(weight == 0, cuda[name] == 0), name
