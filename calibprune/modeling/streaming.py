"""A model skeleton whose weights stay on disk until needed: built on ``meta``, filled one module at a time."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig, PreTrainedModel

from calibprune.modeling.blocks import decoder_blocks
from calibprune.modeling.loading import DTYPES, resolve_model_path
from calibprune.modeling.safetensors_io import SafetensorsCheckpoint

# Files a streamed run reads from the hub: never the PyTorch ``.bin`` weights.
HUB_PATTERNS = ["*.json", "*.safetensors", "tokenizer*", "*.model", "*.txt", "*.jinja"]


def checkpoint_folder(name_or_path: str) -> Path:
    """Local folder of a model's safetensors checkpoint (a hub id is downloaded to the Hugging Face cache)."""
    path = resolve_model_path(name_or_path)
    if path.endswith(".gguf"):
        raise ValueError(f"--model.stream reads safetensors checkpoints, not GGUF files ({name_or_path!r})")
    if Path(path).is_dir():
        return Path(path)
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(path, allow_patterns=HUB_PATTERNS))
    except Exception as err:
        raise ValueError(f"--model: cannot fetch {name_or_path!r}: {str(err).splitlines()[0]}") from err


def build_skeleton(folder: Path, dtype: str) -> PreTrainedModel:
    """The model with every parameter on ``meta`` (no memory) and its computed buffers (rotary tables) real."""
    from accelerate import init_empty_weights

    if dtype not in DTYPES:
        raise ValueError(f"--dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    config = AutoConfig.from_pretrained(folder)
    with init_empty_weights(include_buffers=False):
        model = AutoModelForCausalLM.from_config(config, dtype=DTYPES[dtype], attn_implementation="sdpa")
    if (folder / "generation_config.json").is_file():
        model.generation_config = GenerationConfig.from_pretrained(folder)
    return model.eval()


def _owner(module: nn.Module, name: str) -> tuple[nn.Module, str]:
    owner, _, leaf = name.rpartition(".")
    return (module.get_submodule(owner) if owner else module), leaf


def materialise(module: nn.Module, prefix: str, checkpoint: SafetensorsCheckpoint, device: torch.device | str) -> None:
    """Fill ``module``'s parameters (and saved buffers) from the checkpoint names ``prefix + name``, on ``device``.

    Tensors are cast to the skeleton's dtype for them, as ``from_pretrained`` does. Buffers absent from the
    checkpoint (computed at construction) are moved to ``device``.
    """
    params = dict(module.named_parameters())
    saved_buffers = {n: b for n, b in module.named_buffers() if prefix + n in checkpoint}
    tensors = checkpoint.read(prefix + n for n in [*params, *saved_buffers])
    for name, param in params.items():
        owner, leaf = _owner(module, name)
        value = tensors[prefix + name].to(device=device, dtype=param.dtype)
        owner._parameters[leaf] = nn.Parameter(value, requires_grad=False)
    for name, buffer in module.named_buffers():
        owner, leaf = _owner(module, name)
        value = tensors[prefix + name] if name in saved_buffers else buffer
        owner._buffers[leaf] = value.to(device=device, dtype=buffer.dtype)


def release(module: nn.Module) -> None:
    """Drop ``module``'s parameters back to ``meta`` (freeing them) and bring its buffers back to the CPU."""
    for name, param in list(module.named_parameters()):
        owner, leaf = _owner(module, name)
        owner._parameters[leaf] = nn.Parameter(param.detach().to("meta"), requires_grad=False)
    for name, buffer in list(module.named_buffers()):
        owner, leaf = _owner(module, name)
        owner._buffers[leaf] = buffer.to("cpu")


def materialise_outside_blocks(model: PreTrainedModel, checkpoint: SafetensorsCheckpoint) -> None:
    """Load every weight that is not in a decoder block (embeddings, final norm, LM head) onto the CPU.

    Tied weights (an LM head sharing the embedding matrix) are re-tied once their source is loaded.

    Raises:
        KeyError: if a weight outside the blocks is neither in the checkpoint nor tied to one that is.
    """
    path, _ = decoder_blocks(model)
    for name, param in list(model.named_parameters()):
        if not name.startswith(path + ".") and name in checkpoint:
            owner, leaf = _owner(model, name)
            value = checkpoint.read([name])[name].to(dtype=param.dtype)
            owner._parameters[leaf] = nn.Parameter(value, requires_grad=False)
    for name, buffer in list(model.named_buffers()):
        if not name.startswith(path + ".") and name in checkpoint:
            owner, leaf = _owner(model, name)
            owner._buffers[leaf] = checkpoint.read([name])[name].to(dtype=buffer.dtype)
    model.tie_weights()
    missing = [n for n, p in model.named_parameters() if p.is_meta and not n.startswith(path + ".")]
    if missing:
        raise KeyError(f"--model.stream: {', '.join(missing)} not in the checkpoint {checkpoint.folder}")


def outside_block_tensors(model: PreTrainedModel, checkpoint: SafetensorsCheckpoint) -> dict[str, torch.Tensor]:
    """The weights outside the decoder blocks as the checkpoint names them, each shared tensor once."""
    path, _ = decoder_blocks(model)
    tensors: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for name, tensor in model.state_dict(keep_vars=True).items():
        if name.startswith(path + ".") or name not in checkpoint or id(tensor) in seen:
            continue
        seen.add(id(tensor))
        tensors[name] = tensor.detach()
    return tensors
