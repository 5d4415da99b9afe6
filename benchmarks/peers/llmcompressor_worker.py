"""One llm-compressor ``oneshot`` run (WandaPruningModifier or SparseGPTModifier), in the peers' virtual environment.

Settings chosen to match calibprune's defaults (``benchmarks/peers/run.py`` prints where they still differ):
sparsity 0.5 unstructured (``mask_structure="0:0"``), every Linear of every decoder block and nothing else
(``ignore=["re:.*lm_head"]``: its default targets also match the tied head), one decoder block per sequential
step (its default for Llama), SparseGPT ``block_size=128``, ``dampening_frac=0.01``; calibration batches of
the same size as calibprune's, in the token file's order (``shuffle_calibration_samples=False``).

Run by ``benchmarks/peers/run.py``::

    python benchmarks/peers/llmcompressor_worker.py wanda MODEL_DIR TOKENS WIKITEXT RESULT BATCH_SIZE [DEVICE [DTYPE]]

With ``DEVICE`` ``cuda`` the model is still loaded on the CPU: llm-compressor's own default, which onloads
one decoder block at a time to the GPU.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import device_and_dtype, measure, optional_path  # noqa: E402


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


def without_dispatch(model: torch.nn.Module) -> torch.nn.Module:
    """The model without compressed-tensors' offloading wrappers (its sequential pipeline's, on a GPU)."""
    try:
        from compressed_tensors.offload import remove_dispatch
    except ImportError:
        from compressed_tensors.utils import remove_dispatch
    model = remove_dispatch(model)
    meta = [name for name, p in model.named_parameters() if p.is_meta]
    if meta:
        raise RuntimeError(f"llm-compressor left {len(meta)} weights offloaded (e.g. {meta[0]}): masks unreadable")
    return model


def main(argv: list[str]) -> None:
    import llmcompressor
    import transformers
    from datasets import Dataset
    from llmcompressor import oneshot

    method, model_dir, tokens, wikitext, result, batch_size = argv[:6]
    device, dtype = device_and_dtype(argv[6:])
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype)).eval()
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
        optional_path(wikitext),
        Path(result),
        device,
        without_dispatch,
        llmcompressor_version=llmcompressor.__version__,
        transformers_version=transformers.__version__,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
