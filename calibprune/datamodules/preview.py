"""See what a model is calibrated on: decode a few calibration sequences (``python -m calibprune.datamodules``)."""

from __future__ import annotations

from typing import Any

from calibprune.datamodules.samples import CalibrationSamples


def describe_samples(samples: CalibrationSamples, tokenizer: Any, n: int = 3) -> str:
    """Decode the first ``n`` sequences, special tokens kept, each under a line counting its real and padded tokens."""
    blocks = []
    for index in range(min(n, len(samples))):
        mask = samples.attention_mask[index].bool()
        real = int(mask.sum())
        text = tokenizer.decode(samples.input_ids[index][mask].tolist(), skip_special_tokens=False)
        header = f"--- calibration sample {index + 1}/{len(samples)}: {real} tokens + {samples.seqlen - real} padding"
        blocks.append(f"{header}\n{text}")
    return "\n".join(blocks)
