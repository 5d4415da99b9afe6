"""Checks run before any work, so that bad input fails in seconds with a message naming the option."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

_PATH_PREFIXES = ("/", "./", "../", "~", ".\\", "..\\")


def check_model_path(name_or_path: str, flag: str = "--model") -> None:
    """Fail when ``name_or_path`` is written as a local path (``/``, ``./``, ``../``, ``~``) that does not exist.

    Hub ids (``org/name``) and ``embedded`` are left to the loader.

    Raises:
        FileNotFoundError: naming ``flag`` and what it accepts.
    """
    if name_or_path.startswith(_PATH_PREFIXES) and not Path(name_or_path).expanduser().exists():
        raise FileNotFoundError(
            f"{flag}: {name_or_path!r} does not exist; accepted: a local model folder, a .gguf file, "
            "a Hugging Face hub id (org/name) or embedded"
        )


@torch.no_grad()
def check_causal_lm(model: nn.Module, name: str = "the model", flag: str = "--model") -> None:
    """Fail unless ``model`` is a decoder-only causal LM: its logits at a position never depend on later tokens.

    Two 4-token inputs that differ in their last token go through the model once (one forward pass of 8 tokens);
    an encoder (BERT, even when loaded as ``BertLMHeadModel``) or an encoder-decoder changes earlier logits.

    Raises:
        ValueError: naming ``flag`` and what it accepts.
    """
    config = getattr(model, "config", None)
    accepted = "calibprune prunes decoder-only causal LMs (Llama, Mistral, Qwen, Gemma, OPT, GPT-NeoX, ...)"
    if getattr(config, "is_encoder_decoder", False):
        raise ValueError(f"{flag}: {name} is an encoder-decoder model; {accepted}")
    vocab = model.get_input_embeddings().num_embeddings
    device = next(model.parameters()).device
    ids = torch.arange(4, device=device).remainder(vocab).repeat(2, 1)
    ids[1, -1] = (ids[0, -1] + 1) % vocab
    logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False).logits.float()
    if not torch.allclose(logits[0, :-1], logits[1, :-1], rtol=1e-3, atol=1e-4, equal_nan=True):
        raise ValueError(f"{flag}: {name} is not causal (earlier positions see later tokens); {accepted}")


def check_prune_options(
    trainer: Any,
    model: Any,
    datamodule: Any,
    method: Any,
    save_model: str | None,
    overwrite: bool,
    resume: bool,
    tasks: list[str] | None,
    output: str | None,
) -> None:
    """Every check of a ``prune`` job that needs no model: save target, resume, tasks, output, calibration.

    Raises:
        ValueError, FileExistsError, PermissionError: naming the option and what it accepts.
    """
    from calibprune.modeling.workdir import WorkDir
    from calibprune.prune.results_file import check_output_path
    from calibprune.prune.saving import check_save_path

    if save_model:
        check_save_path(save_model, overwrite)
        if resume:
            WorkDir(WorkDir.next_to(save_model)).read_manifest()
    elif resume:
        raise ValueError("--resume needs --save_model: finished blocks are kept in <save_model>.partial")
    if tasks is not None and len(tasks) == 0:
        raise ValueError("--tasks: empty list; accepted: perplexity corpora and tasks, e.g. '[wikitext, boolq]'")
    if model.stream and tasks:
        raise ValueError("--tasks needs the model in memory; with --model.stream, evaluate the saved model")
    if method.needs_calibration and datamodule is None:
        raise ValueError(f"--data: {type(method).__name__} needs calibration data")
    check_output_path(output)
    if output and not tasks:
        raise ValueError("--output: prune writes the results of --tasks; pass --tasks too (e.g. '[wikitext]')")
