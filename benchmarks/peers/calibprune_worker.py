"""One calibprune prune run (Wanda or SparseGPT) on a token file, measured like the peers (``common.measure``).

Run by ``benchmarks/peers/run.py`` in calibprune's own environment::

    python benchmarks/peers/calibprune_worker.py wanda MODEL TOKENS WIKITEXT RESULT BATCH_SIZE [DEVICE [DTYPE]]

``WIKITEXT`` ``none`` skips the perplexity; ``DEVICE`` ``cuda`` moves the model to the GPU before the clock.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import device_and_dtype, measure, optional_path  # noqa: E402


def main(argv: list[str]) -> None:
    from calibprune.callbacks import SparseGPT, Wanda
    from calibprune.datamodules import CalibrationDataModule
    from calibprune.prune.module import PruningModule
    from calibprune.prune.trainer import PruningTrainer

    method, model_name, tokens, wikitext, result, batch_size = argv[:6]
    device, dtype = device_and_dtype(argv[6:])
    ids = torch.load(tokens)["input_ids"]
    module = PruningModule(model=model_name, dtype=dtype)
    module.configure_model()
    module.to(device)

    def prune() -> None:
        data = CalibrationDataModule(
            calibration=[tokens], nsamples=ids.shape[0], seqlen=ids.shape[1], batch_size=int(batch_size)
        )
        callback = Wanda(0.5) if method == "wanda" else SparseGPT(0.5)
        trainer = PruningTrainer(
            accelerator="gpu" if device.startswith("cuda") else "cpu",
            devices=1,
            callbacks=[callback],
            enable_progress_bar=False,
            logger=False,
        )
        trainer.prune(module, data)

    measure(module.model, prune, optional_path(wikitext), Path(result), device)


if __name__ == "__main__":
    main(sys.argv[1:])
