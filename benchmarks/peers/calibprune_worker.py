"""One calibprune prune run (Wanda or SparseGPT) on a token file, measured like the peers (``common.measure``).

Run by ``benchmarks/peers/run.py`` in calibprune's own environment::

    python benchmarks/peers/calibprune_worker.py wanda MODEL TOKENS WIKITEXT RESULT BATCH_SIZE
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import measure  # noqa: E402


def main(argv: list[str]) -> None:
    from calibprune.callbacks import SparseGPT, Wanda
    from calibprune.datamodules import CalibrationDataModule
    from calibprune.prune.module import PruningModule
    from calibprune.prune.trainer import PruningTrainer

    method, model_name, tokens, wikitext, result, batch_size = argv
    ids = torch.load(tokens)["input_ids"]
    module = PruningModule(model=model_name)
    module.configure_model()

    def prune() -> None:
        data = CalibrationDataModule(
            calibration=[tokens], nsamples=ids.shape[0], seqlen=ids.shape[1], batch_size=int(batch_size)
        )
        callback = Wanda(0.5) if method == "wanda" else SparseGPT(0.5)
        trainer = PruningTrainer(
            accelerator="cpu", devices=1, callbacks=[callback], enable_progress_bar=False, logger=False
        )
        trainer.prune(module, data)

    measure(module.model, prune, Path(wikitext), Path(result))


if __name__ == "__main__":
    main(sys.argv[1:])
