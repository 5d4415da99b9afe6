"""Random-weight models of real shapes, with a word-level tokenizer and a random token file (nothing downloaded).

Run as a script (in a fresh process, so that the benchmark's own process never holds device memory)::

    python -m benchmarks.gpu.shapes FOLDER SHAPE BLOCKS DTYPE DEVICE
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import torch

SPECIAL = ["<unk>", "<s>", "</s>"]  # ids 0, 1, 2: unknown, BOS, EOS

# Decoder shapes of the published configs (config.json of each model); ``tiny`` is for the CPU test.
SHAPES: dict[str, dict] = {
    "llama3-8b": {
        "model_type": "llama",
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
        "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0,
    },
    "llama2-7b": {
        "model_type": "llama",
        "hidden_size": 4096,
        "intermediate_size": 11008,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
        "vocab_size": 32000,
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
    },
    "qwen2.5-7b": {
        "model_type": "qwen2",
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "vocab_size": 152064,
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0,
    },
    "tiny": {
        "model_type": "llama",
        "hidden_size": 64,
        "intermediate_size": 172,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 512,
        "max_position_embeddings": 512,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
    },
}


def model_config(shape: str, blocks: int):
    """The transformers config of ``shape`` with ``blocks`` decoder blocks (untied head, as the real ones)."""
    from transformers import AutoConfig

    spec = dict(SHAPES[shape])
    return AutoConfig.for_model(
        spec.pop("model_type"),
        num_hidden_layers=blocks,
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=2,
        **spec,
    )


def word_tokenizer(vocab_size: int):
    """A word-level tokenizer (``tokenizers``) of ``vocab_size`` entries: the specials, then ``w3``, ``w4``..."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(SPECIAL)}
    vocab.update({f"w{i}": i for i in range(len(SPECIAL), vocab_size)})
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>", eos_token="</s>")


def build(folder: Path, shape: str, blocks: int, dtype: str, device: str) -> None:
    """Save a random-weight model of ``shape`` (transformers' own initialisation) and its tokenizer in ``folder``.

    Built on ``device`` (a GPU initialises 8B-shaped weights in a second), saved as safetensors in ``dtype``,
    through ``FOLDER.partial``.
    """
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    config = model_config(shape, blocks)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    partial = folder.with_name(folder.name + ".partial")  # renamed when complete: a folder is whole or absent
    shutil.rmtree(partial, ignore_errors=True)
    word_tokenizer(config.vocab_size).save_pretrained(partial)
    model.save_pretrained(partial)
    partial.rename(folder)


def random_tokens(path: Path, vocab_size: int, nsamples: int, seqlen: int, seed: int = 0) -> None:
    """Save ``nsamples`` x ``seqlen`` random word ids (no specials) as the peers' token file."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(len(SPECIAL), vocab_size, (nsamples, seqlen), generator=generator)
    torch.save({"input_ids": ids, "attention_mask": torch.ones_like(ids)}, path)


if __name__ == "__main__":
    folder, shape, blocks, dtype, device = sys.argv[1:]
    build(Path(folder), shape, int(blocks), dtype, device)
