"""Checks of ``prune``'s input files against each other and the model's ``config.json``: no weight is read.

The calibration data module is built as the run would build it and each source checks its share from its files
alone (:meth:`~calibprune.datamodules.calibration.CalibrationDataModule.check_sources`: the same checks its
``samples`` run); the per-block sparsity list is held against ``config.json``'s block count.
"""

from __future__ import annotations

from jsonargparse import Namespace

from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.modeling.config_file import block_count, check_layer_sparsity, read_model_config, vocab_size


def check_prune_inputs(config: Namespace) -> None:
    """Fail on calibration files or method values that cannot work with the data and model given.

    Args:
        config: ``prune``'s parsed config, short flags applied.

    Raises:
        OptionError: naming the parameter (``calibration``, ``nsamples``, ``seqlen``, ``text_field``,
            ``layer_sparsity``); ValueError from the data module's own checks.
    """
    model_config = read_model_config(config.model.model)
    data = config.get("data") or Namespace()
    datamodule = CalibrationDataModule(**{key: value for key, value in data.items() if "." not in key})
    datamodule.check_sources(vocab_size(model_config))
    method = config.get("method")
    arguments = method.get("init_args") if isinstance(method, Namespace) else None
    if isinstance(arguments, Namespace):
        check_layer_sparsity(arguments.get("layer_sparsity"), block_count(model_config))
