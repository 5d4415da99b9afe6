"""The ``calibprune`` parser: LightningCLI with ``prune``, ``evaluate``, ``study`` and ``advise`` (no ``fit``)."""

from __future__ import annotations

import inspect
import re
import sys
from argparse import ArgumentError
from collections.abc import Callable
from typing import Any

import torch
from datasets.exceptions import DatasetGenerationError
from lightning.pytorch import Trainer
from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI
from lightning.pytorch.utilities.exceptions import MisconfigurationException
from typing_extensions import override

from calibprune.callbacks.base import PruningMethod
from calibprune.callbacks.progress import BlockBatchProgress
from calibprune.callbacks.registry import parameters_of
from calibprune.callbacks.run_config import RunConfig
from calibprune.callbacks.tensorboard import PruningInspector
from calibprune.command_line.checks import check_config, check_raw_args
from calibprune.command_line.errors import describe_error, one_line_error, option_error
from calibprune.command_line.flags import (
    CONFIG_SUFFIXES,
    SHORT_FLAGS,
    apply_short_flags,
    expand_shorthands,
    pruning_methods,
)
from calibprune.command_line.jobs import CalibpruneTrainer
from calibprune.command_line.option_names import OptionNames
from calibprune.console import StageProgressBar
from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.evaluation.datamodule import EvaluationDataModule
from calibprune.evaluation.module import EvaluationModule
from calibprune.loggers import discard_run, run_logger
from calibprune.prune.checks import check_model_path
from calibprune.prune.module import PruningModule
from calibprune.tasks.records import DataUnavailableError

# The model and datamodule classes behind ``--model.*`` and ``--data.*``, per subcommand.
SUBCOMMANDS: dict[str, tuple[type, type]] = {
    "prune": (PruningModule, CalibrationDataModule),
    "evaluate": (EvaluationModule, EvaluationDataModule),
    "study": (PruningModule, CalibrationDataModule),
    "advise": (PruningModule, CalibrationDataModule),
}
# Trainer options that mean something without training; the others (epochs, gradient clipping...) are hidden.
TRAINER_OPTIONS = frozenset(
    {
        "accelerator",
        "strategy",
        "devices",
        "num_nodes",
        "precision",
        "logger",
        "callbacks",
        "enable_progress_bar",
        "deterministic",
        "profiler",
        "plugins",
    }
)
# Option strings of each subcommand's parser, to name the flag of an error as the user can type it.
OPTIONS: dict[str, set[str]] = {}
WITH_METHOD = ("prune", "study", "advise")  # subcommands taking ``--method``
LOGGED = ("prune", "evaluate")  # subcommands with a TensorBoard run directory by default


class CalibpruneCLI(LightningCLI):
    """LightningCLI whose subcommands are the jobs of :class:`CalibpruneTrainer`, with short seed-style flags."""

    _building: str = "prune"

    @staticmethod
    @override
    def subcommands() -> dict[str, set[str]]:
        """``prune``: calibrate, prune, evaluate and save; ``evaluate``: a dense or saved model; ``study``: a grid."""
        return {name: {"model", "datamodule"} for name in SUBCOMMANDS}

    @override
    def _prepare_subcommand_parser(self, klass: type, subcommand: str, **kwargs: Any) -> LightningArgumentParser:
        # Lightning gives every subcommand the same model and datamodule classes; ``evaluate`` needs others.
        self._building = subcommand
        self._model_class, self._datamodule_class = SUBCOMMANDS[subcommand]
        self.datamodule_class = self._datamodule_class
        parser = super()._prepare_subcommand_parser(klass, subcommand, **kwargs)
        OPTIONS[subcommand] = {option for action in parser._actions for option in action.option_strings}
        return parser

    @override
    def add_core_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Add the trainer options that matter without training, then the model's and the datamodule's."""
        hidden = set(inspect.signature(Trainer.__init__).parameters) - TRAINER_OPTIONS - {"self"}
        parser.add_class_arguments(
            self.trainer_class, "trainer", fail_untyped=False, instantiate=False, sub_configs=True, skip=hidden
        )
        parser.add_lightning_class_args(self._model_class, "model")
        parser.add_lightning_class_args(self._datamodule_class, "data")
        for action in parser._actions:  # ``--model NAME`` is rewritten to ``--model.model NAME``: say so
            if action.option_strings == ["--model"]:
                action.help = "a model's hub id or path (short for --model.model), or a config file of the model group"

    @override
    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Add ``--method`` (a pruning callback, Wanda by default), ``--log_dir`` and the short flags."""
        if self._building in WITH_METHOD:
            parser.add_lightning_class_args(PruningMethod, "method", subclass_mode=True)
            parser.set_defaults({"method": {"class_path": "calibprune.callbacks.Wanda"}})
        if self._building in LOGGED:
            parser.add_argument(
                "--log_dir",
                type=str,
                default="runs",
                help="TensorBoard runs go to LOG_DIR/<subcommand>/<timestamp> (--trainer.logger false: none)",
            )
        helps = {action.dest: action.help for action in parser._actions if isinstance(action.help, str)}
        for flag in SHORT_FLAGS.get(self._building, []):
            parser.add_argument(f"--{flag.name}", type=flag.type, default=None, help=flag.described(helps))

    @override
    def parse_arguments(self, parser: LightningArgumentParser, args: ArgsType) -> None:
        """Parse (``--model NAME`` and ``--method wanda`` accepted), then let the short flags set nested options."""
        if isinstance(args, dict):
            self.config = parser.parse_object(args)
        else:
            raw = list(sys.argv[1:] if args is None else args)
            check_raw_args(next((arg for arg in raw if arg in SUBCOMMANDS), None), raw)
            self.config = parser.parse_args(expand_shorthands(raw))
        subcommand = self.config.get("subcommand")
        if subcommand:
            apply_short_flags(self.config[subcommand], subcommand)
            check_model_path(self.config[subcommand].model.model)
            check_config(subcommand, self.config[subcommand])

    @override
    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        """Give ``prune`` and ``evaluate`` a TensorBoard run directory; ``prune`` its inspector and batch bars."""
        config = self._get(self.config_init, "trainer", default={})
        if self.subcommand in LOGGED and config.get("logger") in (None, True):
            kwargs["logger"] = run_logger(self._get(self.config, "log_dir"), self.subcommand)
        callbacks = config.get("callbacks") or []
        callbacks = list(callbacks) if isinstance(callbacks, list) else [callbacks]
        if self.subcommand in LOGGED and config.get("enable_progress_bar") is not False:
            callbacks.append(StageProgressBar())
        if self.subcommand == "prune":
            callbacks += [PruningInspector(), BlockBatchProgress()]
        kwargs["callbacks"] = callbacks
        return super().instantiate_trainer(**kwargs)

    def prune(self, **kwargs: Any) -> None:
        """Run ``PruningTrainer.prune``; a failed run leaves no run directory behind."""
        self._run(self.trainer.prune, kwargs)

    def evaluate(self, **kwargs: Any) -> None:
        """Run ``PruningTrainer.evaluate``; a failed run leaves no run directory behind."""
        self._run(self.trainer.evaluate, kwargs)

    def _run(self, job: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        try:
            job(**kwargs)
        except BaseException:  # a stop by SIGTERM/SIGINT too: its run directory cannot be continued
            discard_run(self.trainer)
            raise


USER_ERRORS = (
    ValueError,
    ArgumentError,
    FileNotFoundError,
    FileExistsError,
    FloatingPointError,
    DataUnavailableError,
    DatasetGenerationError,  # a malformed local --calibration file (``describe_error`` names the option)
    torch.linalg.LinAlgError,
    PermissionError,
    MisconfigurationException,  # Lightning's own checks of --trainer.* (described by ``describe_error``)
)


def run_cli(args: list[str] | None = None) -> CalibpruneCLI:
    """Parse ``args`` (default: ``sys.argv[1:]``) and run the subcommand they name.

    Raises:
        Exception: one of :data:`USER_ERRORS` for bad input (see :func:`error_line`), anything else for a bug.
    """
    return CalibpruneCLI(
        PruningModule,
        CalibrationDataModule,
        trainer_class=CalibpruneTrainer,
        seed_everything_default=0,
        save_config_callback=RunConfig,
        save_config_kwargs={"overwrite": True},
        auto_configure_optimizers=False,
        load_from_checkpoint_support=False,
        parser_kwargs={"exit_on_error": False},
        args=args,
    )


def error_line(err: BaseException, args: list[str] | None = None) -> str:
    """The one line a user error is reported with: the option as the user typed it and what it accepts."""
    typed = list(sys.argv[1:] if args is None else args)
    subcommand = next((arg for arg in typed if arg in SUBCOMMANDS), None) or ""
    methods = pruning_methods().values()
    names = OptionNames(
        OPTIONS.get(subcommand, set()),
        typed,
        {flag.name: flag.targets for flag in SHORT_FLAGS.get(subcommand, [])},
        parameters_of(methods),
    )
    found = option_error(err)
    if found is not None:
        return names.line(found)
    message = str(err)
    unknown = _UNKNOWN_KEY.search(message) or _UNRECOGNIZED.search(message)
    if unknown is not None:
        typed_flag = f"--{unknown.group(1)}" in names.typed
        where = None if typed_flag or unknown.re is _UNRECOGNIZED else _config_flag(typed)
        return names.unknown(unknown.group(1), subcommand, where)
    choices = {"method": [cls.__name__ for cls in methods]}
    return names.rename_leading(one_line_error(describe_error(err), choices))


_UNKNOWN_KEY = re.compile(r"does not accept option '([\w.]+)'")
_UNRECOGNIZED = re.compile(r"unrecognized arguments: --([\w.]+)")


def _config_flag(typed: list[str]) -> str:
    """The flag that gave a config file (``--config``, ``--model``...): where an unknown key came from."""
    for index, arg in enumerate(typed):
        key, eq, value = arg.partition("=")
        value = value if eq else (typed[index + 1] if index + 1 < len(typed) else "")
        if key.startswith("--") and value.lower().endswith(CONFIG_SUFFIXES):
            return key
    return "--config"
