"""Tiny random configs (2 blocks, width 32) of every architecture family calibprune prunes, saved once."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

ARCHITECTURES = (
    "llama",
    "mistral",
    "qwen2",
    "qwen3",
    "gemma2",
    "phi3",
    "opt",
    "gpt_neox",
    "gpt2",
    "falcon",
    "mixtral",
    "qwen2_moe",
)
NSAMPLES, SEQLEN = 8, 32


def tiny_config(arch: str, vocab: int):
    """A 2-block random config of ``arch``, width 32 (MoE: 4 experts, 2 per token)."""
    import transformers as T

    common = dict(
        vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=128
    )
    gqa = dict(intermediate_size=64, num_key_value_heads=2, **common)
    configs = {
        "llama": lambda: T.LlamaConfig(**gqa),
        "mistral": lambda: T.MistralConfig(**gqa),
        "qwen2": lambda: T.Qwen2Config(**gqa),
        "qwen3": lambda: T.Qwen3Config(head_dim=8, **gqa),
        "gemma2": lambda: T.Gemma2Config(head_dim=8, **gqa),
        "phi3": lambda: T.Phi3Config(pad_token_id=0, **gqa),
        "opt": lambda: T.OPTConfig(ffn_dim=64, word_embed_proj_dim=32, **common),
        "gpt_neox": lambda: T.GPTNeoXConfig(intermediate_size=64, **common),
        "gpt2": lambda: T.GPT2Config(vocab_size=vocab, n_embd=32, n_layer=2, n_head=4, n_inner=64, n_positions=128),
        "falcon": lambda: T.FalconConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4),
        "mixtral": lambda: T.MixtralConfig(
            num_local_experts=4, num_experts_per_tok=2, **{**gqa, "intermediate_size": 32}
        ),
        "qwen2_moe": lambda: T.Qwen2MoeConfig(
            moe_intermediate_size=32, shared_expert_intermediate_size=32, num_experts=4, num_experts_per_tok=2, **gqa
        ),
    }
    return configs[arch]()


@pytest.fixture(scope="session")
def arch_dirs(tmp_path_factory, tokenizer) -> dict[str, Path]:
    """Every architecture saved as a folder with the embedded tokenizer (built on first use)."""
    return {}


@pytest.fixture
def arch_dir(arch_dirs, tmp_path_factory, tokenizer):
    """``arch_dir(name)``: the saved tiny model of architecture ``name``."""
    from transformers import AutoModelForCausalLM

    def build(arch: str) -> Path:
        if arch not in arch_dirs:
            folder = tmp_path_factory.mktemp(f"tiny-{arch}")
            torch.manual_seed(0)
            AutoModelForCausalLM.from_config(tiny_config(arch, len(tokenizer))).save_pretrained(folder)
            tokenizer.save_pretrained(folder)
            arch_dirs[arch] = folder
        return arch_dirs[arch]

    return build


@pytest.fixture(scope="session")
def arch_tokens(tmp_path_factory) -> Path:
    """Eight random sequences of 32 tokens, the last one padded after 20 tokens."""
    ids = torch.randint(3, 256, (NSAMPLES, SEQLEN), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[-1, 20:] = 0
    path = tmp_path_factory.mktemp("arch-tokens") / "tokens.pt"
    torch.save({"input_ids": ids, "attention_mask": mask}, path)
    return path
