"""Checks of the command line that need no model: run after parsing, before any class is built or weight read.

Each failure is one line that names the option as the user writes it and what it accepts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import yaml
from jsonargparse import Namespace

from calibprune.command_line.flags import CONFIG_SUFFIXES
from calibprune.command_line.input_checks import check_prune_inputs
from calibprune.errors import OptionError
from calibprune.modeling.config_file import read_model_config

_CONFIG_FLAGS = ("--config", "--model", "--data", "--method", "--trainer")
# ``calibprune study`` takes its calibration and methods from the grid: these groups are not used.
_STUDY_UNUSED = ("--data", "--method", "--prune_method")


def check_raw_args(subcommand: str | None, args: list[str]) -> None:
    """Config files that are missing or malformed, and options a subcommand does not use.

    Raises:
        FileNotFoundError, ValueError: naming the option.
    """
    for index, arg in enumerate(args):
        key, eq, value = arg.partition("=")
        if key not in _CONFIG_FLAGS:
            continue
        if not eq:
            if index + 1 >= len(args):
                continue
            value = args[index + 1]
        if key == "--config" or value.lower().endswith(CONFIG_SUFFIXES):
            check_config_file(key, value)
    if subcommand == "study":
        for arg in args:
            key = arg.partition("=")[0]
            if key.startswith("--") and any(key == flag or key.startswith(flag + ".") for flag in _STUDY_UNUSED):
                raise ValueError(
                    f"{key}: not used by `calibprune study`, whose grid gives every cell its calibration "
                    "and method; accepted: --grid.calibration, --grid.methods, --grid.nsamples, ..."
                )


def check_config_file(flag: str, value: str) -> None:
    """Fail when a config file given to ``flag`` is missing or is not valid YAML (with its line and column).

    Raises:
        FileNotFoundError, ValueError: naming ``flag`` and the file.
    """
    path = Path(value)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"{flag}: config file {value!r} {what}; accepted: a YAML or JSON file")
    try:
        yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown position"
        raise ValueError(
            f"{flag}: {value}: {where}: {err.problem or err.context}; accepted: a YAML or JSON file"
        ) from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ValueError(f"{flag}: {value}: {type(err).__name__}: {err}; accepted: a YAML or JSON file") from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (plain YAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def check_config(subcommand: str, config: Namespace) -> None:
    """Values that parse but cannot work: empty lists, devices this machine lacks, unusable outputs.

    Args:
        subcommand: ``prune``, ``evaluate`` or ``study``.
        config: the subcommand's parsed config, short flags already applied.

    Raises:
        ValueError, FileExistsError, FileNotFoundError, PermissionError: naming the option.
    """
    check_devices(config.get("trainer") or Namespace())
    from calibprune.modeling.loading import AUTO_DTYPE, DTYPES

    dtype = (config.get("model") or Namespace()).get("dtype")
    if dtype is not None and dtype != AUTO_DTYPE and dtype not in DTYPES:
        raise OptionError("model.dtype", f"must be one of {', '.join(DTYPES)} or {AUTO_DTYPE}, got {dtype!r}")
    data = config.get("data") or Namespace()
    _check_seeds(config, data)
    if subcommand == "prune":
        _check_prune(config, data)
    elif subcommand == "evaluate":
        _check_evaluate(config, data)


def _check_seeds(config: Namespace, data: Namespace) -> None:
    from calibprune.datamodules.calibration import check_seed

    if data.get("seed") is not None:
        check_seed("data.seed", data.seed)
    if config.get("seed_everything") not in (None, True, False):
        check_seed("seed_everything", config.seed_everything)


def _check_prune(config: Namespace, data: Namespace) -> None:
    from calibprune.prune.results_file import check_output_path
    from calibprune.prune.saving import check_save_path

    calibration = data.get("calibration")
    if calibration is not None and len(calibration) == 0:
        raise OptionError(
            "data.calibration",
            "empty list",
            "one or more sources, e.g. '[c4]', '[self]', '[tokens.pt]' (leave it out for the default, self)",
        )
    tasks = config.get("tasks")
    if tasks is not None and len(tasks) == 0:
        raise OptionError(
            "tasks",
            "empty list",
            "perplexity corpora and tasks, e.g. '[wikitext, boolq]' (leave it out to evaluate nothing)",
        )
    if config.get("save_model") is not None and not str(config.save_model).strip():
        raise OptionError("save_model", "empty path", "a folder path, e.g. pruned/model (leave it out: not saved)")
    if config.get("save_model"):
        check_save_path(config.save_model, bool(config.get("overwrite")))
    check_output_path(config.get("output"))
    if config.get("output") and not tasks:
        raise OptionError(
            "output", "prune writes the results of tasks", "pass tasks too (e.g. '[wikitext]')", mentions=("tasks",)
        )
    model_config = local_model_config(config.model.model) or {}
    context = model_config.get("max_position_embeddings")
    for name, seqlen in (
        ("data.seqlen", data.get("seqlen")),
        ("eval_seqlen", config.get("eval_seqlen") if tasks else None),
    ):
        if context and isinstance(seqlen, int) and seqlen > context:
            raise OptionError(name, f"{seqlen} exceeds the model's context of {context} tokens", f"1 to {context}")
    check_prune_inputs(config)


def _check_evaluate(config: Namespace, data: Namespace) -> None:
    from calibprune.prune.results_file import check_output_path
    from calibprune.tasks import TASKS

    tasks = data.get("tasks")
    if tasks is not None and len(tasks) == 0:
        raise OptionError("data.tasks", "empty list", "perplexity corpora and tasks, e.g. '[wikitext, boolq]'")
    if data.get("rationale"):
        with_rationale = [name for name, cls in TASKS.items() if cls().has_rationale and cls().kind == "arithmetic"]
        without = [name for name in tasks or ["wikitext"] if name not in with_rationale]
        if without:
            raise OptionError(
                "data.rationale",
                f"{', '.join(without)} cannot use rationales",
                f"arithmetic tasks with rationales ({', '.join(with_rationale)})",
            )
    check_output_path(config.get("output"))
    model_config = local_model_config(config.model.model)
    context = (model_config or {}).get("max_position_embeddings")
    seqlen = data.get("seqlen")
    if context and isinstance(seqlen, int) and seqlen > context:
        raise OptionError("data.seqlen", f"{seqlen} exceeds the model's context of {context} tokens", f"2 to {context}")


def local_model_config(name_or_path: str) -> dict[str, Any] | None:
    """The ``config.json`` of a local model folder (read without its weights), or ``None``."""
    return read_model_config(name_or_path)


def check_devices(trainer: Namespace) -> None:
    """Fail when ``--trainer.accelerator``/``--trainer.devices`` ask for hardware this machine does not have.

    Raises:
        ValueError: naming the option and what this machine offers.
    """
    accelerator = trainer.get("accelerator")
    accelerator = accelerator if isinstance(accelerator, str) else None
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if accelerator in ("gpu", "cuda") and gpus == 0:
        raise ValueError(
            f"--trainer.accelerator {accelerator}: no CUDA GPU is visible on this machine; accepted: cpu or auto"
        )
    if accelerator == "mps" and not (torch.backends.mps.is_available()):
        raise ValueError("--trainer.accelerator mps: no Apple GPU on this machine; accepted: cpu or auto")
    if accelerator == "tpu":
        raise ValueError("--trainer.accelerator tpu: calibprune does not run on TPUs; accepted: cpu, gpu or auto")
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator in (None, "auto") and gpus > 0)
    launched = _launched_processes(int(trainer.get("num_nodes") or 1))
    if launched is not None:  # a launcher (torchrun) started this node's processes: they are the devices
        cores = os.cpu_count() or 1
        if not on_gpu and launched > cores:
            raise ValueError(
                f"--nproc_per_node {launched} (torchrun: LOCAL_WORLD_SIZE): this machine has {cores} CPU cores; "
                f"accepted: 1 to {cores} processes per node"
            )
        return
    count = _device_count(trainer.get("devices"))
    if count is None or int(trainer.get("num_nodes") or 1) > 1 or "LOCAL_RANK" in os.environ:
        return  # several nodes (or a launcher's process): each node's own devices are not visible from here
    available, kind = (gpus, "CUDA GPUs") if on_gpu else (os.cpu_count() or 1, "CPU cores")
    if count > available:
        raise ValueError(
            f"--trainer.devices {trainer.get('devices')}: this machine has {available} {kind}; "
            f"accepted: 1 to {available} (or auto)"
        )


def _launched_processes(num_nodes: int) -> int | None:
    """The processes a launcher (torchrun) started on this node, or ``None`` when not launched so."""
    if "LOCAL_RANK" not in os.environ:
        return None
    count = os.environ.get("LOCAL_WORLD_SIZE") or (os.environ.get("WORLD_SIZE") if num_nodes == 1 else None)
    return int(count) if count and count.isdigit() else None


def _device_count(devices: Any) -> int | None:
    """How many devices ``--trainer.devices`` asks for (``None``: auto, or -1 for all)."""
    if isinstance(devices, (list, tuple)):
        return len(devices)
    if isinstance(devices, str):
        text = devices.strip()
        if "," in text:
            return len([d for d in text.split(",") if d.strip()])
        if text.lstrip("-").isdigit():
            devices = int(text)
        else:
            return None
    if isinstance(devices, int) and devices > 0:
        return devices
    return None
