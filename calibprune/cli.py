"""The ``calibprune`` command line: LightningCLI with a ``prune`` subcommand (no ``fit``)."""

from __future__ import annotations

import sys
from argparse import ArgumentError

import torch
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from calibprune.callbacks.base import PruningMethod
from calibprune.cli_errors import one_line_error
from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.module import PruningModule
from calibprune.trainer import PruningTrainer


class CalibpruneCLI(LightningCLI):
    """LightningCLI whose subcommands are the pruning jobs of :class:`PruningTrainer`."""

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        """``prune``: calibrate, prune and save."""
        return {"prune": {"model", "datamodule"}}

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Add the pruning method (a callback) as ``--method``, Wanda by default."""
        parser.add_lightning_class_args(PruningMethod, "method", subclass_mode=True)
        parser.set_defaults({"method": {"class_path": "calibprune.callbacks.Wanda"}})


USER_ERRORS = (
    ValueError,
    ArgumentError,
    FileNotFoundError,
    FileExistsError,
    FloatingPointError,
    torch.linalg.LinAlgError,
)
METHODS = ["Wanda", "SparseGPT", "Magnitude"]


def main(args: list[str] | None = None) -> None:
    """Run the ``calibprune`` command line; bad input ends with a one-line error and exit status 2."""
    try:
        CalibpruneCLI(
            PruningModule,
            CalibrationDataModule,
            trainer_class=PruningTrainer,
            seed_everything_default=0,
            save_config_callback=None,
            auto_configure_optimizers=False,
            parser_kwargs={"exit_on_error": False},
            args=args,
        )
    except USER_ERRORS as err:
        print(f"calibprune: error: {one_line_error(str(err), {'method': METHODS})}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
