"""Prune a saved tiny model through the PruningTrainer path and read its matrices back."""

from __future__ import annotations

from calibprune.datamodules import CalibrationDataModule
from calibprune.modeling.blocks import decoder_blocks
from calibprune.modeling.plan import PruningPlan
from calibprune.prune.module import PruningModule
from calibprune.prune.trainer import PruningTrainer
from tests.architectures.conftest import NSAMPLES, SEQLEN


def prune(model_dir, method, token_file, before=None, save=None, **options):
    """Prune ``model_dir`` with ``method``; ``before(module)`` runs on the loaded model first. Returns the module.

    ``options`` go to the :class:`PruningModule` (``stream=True``...).
    """
    module = PruningModule(model=str(model_dir), **options)
    if save and (options.get("stream") or options.get("onload")):
        module.configure_run(str(save))
    module.configure_model()
    if before is not None:
        before(module)
    data = CalibrationDataModule(calibration=[str(token_file)], nsamples=NSAMPLES, seqlen=SEQLEN, batch_size=4)
    trainer = PruningTrainer(accelerator="cpu", devices=1, callbacks=[method], enable_progress_bar=False, logger=False)
    module.report = trainer.prune(module, data, save_model=str(save) if save else None)
    return module


def matrices(model) -> dict:
    """Every prunable matrix of the model (``[out, in]`` views) by its full name."""
    plan = PruningPlan.build(model)
    _, blocks = decoder_blocks(model)
    return {
        f"{plan.path}.{i}.{name}": p.weight
        for i, block in enumerate(blocks)
        for name, p in plan.layers(i, block).items()
    }
