import pytest
import torch
from typing_extensions import override

from calibprune.callbacks import BlockCallback, SparseGPT, Wanda
from calibprune.datamodules import CalibrationDataModule
from calibprune.prune.module import PruningModule
from calibprune.prune.trainer import PruningTrainer

NSAMPLES, SEQLEN = 6, 16


@pytest.fixture(scope="module")
def token_file(tmp_path_factory, tokenizer):
    ids = torch.randint(3, len(tokenizer), (NSAMPLES, SEQLEN), generator=torch.Generator().manual_seed(1))
    path = tmp_path_factory.mktemp("tokens") / "tokens.pt"
    torch.save({"input_ids": ids, "attention_mask": torch.ones_like(ids)}, path)
    return path


def _recording(cls):
    """A pruning method that keeps, per block, the statistics objects it was given."""

    class Recording(cls):
        seen: list

        @override
        def prune_block(self, layers, statistics):
            self.seen = [*getattr(self, "seen", []), dict(statistics)]
            super().prune_block(layers, statistics)

    return Recording()


def _prune(model_dir, token_file, *callbacks):
    module = PruningModule(model=str(model_dir))
    data = CalibrationDataModule(calibration=[str(token_file)], nsamples=NSAMPLES, seqlen=SEQLEN, batch_size=4)
    trainer = PruningTrainer(accelerator="cpu", devices=1, callbacks=list(callbacks), enable_progress_bar=False)
    trainer.prune(module, data)
    return module


def _hook_count(model) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


@pytest.mark.parametrize("cls", [Wanda, SparseGPT])
def test_layers_reading_one_input_share_one_accumulator_counted_once(tiny_llama_dir, token_file, cls):
    method = _recording(cls)
    _prune(tiny_llama_dir, token_file, method)
    assert len(method.seen) == 2
    for stats in method.seen:
        q, k, v = (stats[f"self_attn.{p}_proj"] for p in "qkv")
        assert q is k is v
        assert stats["mlp.gate_proj"] is stats["mlp.up_proj"]
        distinct = {id(s) for s in stats.values()}
        assert len(distinct) == 4  # q/k/v, o, gate/up, down
        assert all(int(s.tokens) == NSAMPLES * SEQLEN for s in stats.values())


def test_opt_attention_projections_share_one_accumulator(tiny_opt_dir, token_file):
    method = _recording(Wanda)
    _prune(tiny_opt_dir, token_file, method)
    for stats in method.seen:
        assert stats["self_attn.q_proj"] is stats["self_attn.k_proj"] is stats["self_attn.v_proj"]
        assert len({id(s) for s in stats.values()}) == 4  # q/k/v, out_proj, fc1, fc2


@pytest.mark.parametrize("cls", [Wanda, SparseGPT])
def test_no_hook_is_left_after_pruning(tiny_llama_dir, token_file, cls):
    module = _prune(tiny_llama_dir, token_file, cls())
    assert _hook_count(module.model) == 0


class _FailOnSecondBlock(BlockCallback):
    @override
    def on_block_batch_end(self, trainer, pl_module, index):
        if index == 1:
            raise RuntimeError("boom in block 1")


@pytest.mark.parametrize("cls", [Wanda, SparseGPT])
def test_no_hook_is_left_after_an_exception(tiny_llama_dir, token_file, cls):
    method = cls()
    module = PruningModule(model=str(tiny_llama_dir))
    data = CalibrationDataModule(calibration=[str(token_file)], nsamples=NSAMPLES, seqlen=SEQLEN, batch_size=4)
    trainer = PruningTrainer(
        accelerator="cpu", devices=1, callbacks=[method, _FailOnSecondBlock()], enable_progress_bar=False
    )
    with pytest.raises(RuntimeError, match="boom in block 1"):
        trainer.prune(module, data)
    assert _hook_count(module.model) == 0
    assert method._handles == []
