"""One llm-compressor ``oneshot`` run (WandaPruningModifier or SparseGPTModifier), in the peers' virtual environment.

Settings chosen to match calibprune's defaults (``benchmarks/peers/run.py`` prints where they still differ):
sparsity 0.5 unstructured (``mask_structure="0:0"``), every Linear of every decoder block and nothing else
(``ignore=["re:.*lm_head"]``: its default targets also match the tied head), one decoder block per sequential
step (its default for Llama), SparseGPT ``block_size=128``, ``dampening_frac=0.01``; calibration batches of
the same size as calibprune's, in the token file's order (``shuffle_calibration_samples=False``).

Run by ``benchmarks/peers/run.py``::

    python benchmarks/peers/llmcompressor_worker.py wanda MODEL_DIR TOKENS WIKITEXT RESULT BATCH_SIZE
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import measure  # noqa: E402


def modifier(method: str):
    """The llm-compressor modifier with calibprune's settings."""
    if method == "wanda":
        from llmcompressor.modifiers.pruning import WandaPruningModifier

        return WandaPruningModifier(sparsity=0.5, mask_structure="0:0", targets=["Linear"], ignore=["re:.*lm_head"])
    from llmcompressor.modifiers.pruning import SparseGPTModifier

    return SparseGPTModifier(
        sparsity=0.5,
        mask_structure="0:0",
        block_size=128,
        dampening_frac=0.01,
        targets=["Linear"],
        ignore=["re:.*lm_head"],
    )


def main(argv: list[str]) -> None:
    import llmcompressor
    import transformers
    from datasets import Dataset
    from llmcompressor import oneshot

    method, model_dir, tokens, wikitext, result, batch_size = argv
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    ids = torch.load(tokens)["input_ids"]
    data = Dataset.from_dict({"input_ids": ids.tolist(), "attention_mask": torch.ones_like(ids).tolist()})

    def prune() -> None:
        oneshot(
            model=model,
            dataset=data,
            recipe=modifier(method),
            num_calibration_samples=len(ids),
            max_seq_length=ids.shape[1],
            batch_size=int(batch_size),
            shuffle_calibration_samples=False,
            pipeline="sequential",
        )

    measure(
        model,
        prune,
        Path(wikitext),
        Path(result),
        llmcompressor_version=llmcompressor.__version__,
        transformers_version=transformers.__version__,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
