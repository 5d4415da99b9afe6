"""Checks run before any work, so that bad input fails in seconds with a message naming the parameter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from calibprune.errors import OptionError
from calibprune.prune.options import PruneOptions

_PATH_PREFIXES = ("/", "./", "../", "~", ".\\", "..\\")


def check_model_path(name_or_path: str) -> None:
    """Fail when ``name_or_path`` is written as a local path (``/``, ``./``, ``../``, ``~``) that does not exist.

    Hub ids (``org/name``) and ``embedded`` are left to the loader.

    Raises:
        OptionError: naming ``model`` and what it accepts.
    """
    if name_or_path.startswith(_PATH_PREFIXES) and not Path(name_or_path).expanduser().exists():
        raise OptionError(
            "model",
            f"{name_or_path!r} does not exist",
            "a local model folder, a .gguf file, a Hugging Face hub id (org/name) or embedded",
        )


@torch.no_grad()
def check_causal_lm(model: nn.Module, name: str = "the model") -> None:
    """Fail unless ``model`` is a decoder-only causal LM: its logits at a position never depend on later tokens.

    Two 4-token inputs that differ in their last token go through the model once (one forward pass of 8 tokens);
    an encoder (BERT, even when loaded as ``BertLMHeadModel``) or an encoder-decoder changes earlier logits.

    Raises:
        OptionError: naming ``model`` and what it accepts.
    """
    config = getattr(model, "config", None)
    accepted = "decoder-only causal LMs (Llama, Mistral, Qwen, Gemma, OPT, GPT-NeoX, ...)"
    if getattr(config, "is_encoder_decoder", False):
        raise OptionError("model", f"{name} is an encoder-decoder model", accepted)
    vocab = model.get_input_embeddings().num_embeddings
    device = next(model.parameters()).device
    ids = torch.arange(4, device=device).remainder(vocab).repeat(2, 1)
    ids[1, -1] = (ids[0, -1] + 1) % vocab
    logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False).logits.float()
    if not torch.allclose(logits[0, :-1], logits[1, :-1], rtol=1e-3, atol=1e-4, equal_nan=True):
        raise OptionError("model", f"{name} is not causal (earlier positions see later tokens)", accepted)


def check_prune_job(model: Any, datamodule: Any, method: Any, options: PruneOptions) -> None:
    """The checks of a ``prune`` job that need its model, data and method (the options check themselves).

    Raises:
        OptionError: naming the parameter and what it accepts.
    """
    if model.stream and options.tasks:
        raise OptionError(
            "tasks",
            "needs the model in memory; with model.stream, evaluate the saved model",
            mentions=("model.stream",),
        )
    if method.needs_calibration and datamodule is None:
        raise OptionError("data", f"{type(method).__name__} needs calibration data")
