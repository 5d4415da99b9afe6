"""Calibration samples: token ids and the attention mask that marks padding, saved and loaded exactly."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass
class CalibrationSamples:
    """A batch of calibration sequences of one length.

    Attributes:
        input_ids: ``[n, seqlen]`` token ids (LongTensor).
        attention_mask: ``[n, seqlen]``, 1 on real tokens and 0 on padding.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor

    def __post_init__(self) -> None:
        if self.input_ids.dim() != 2 or self.input_ids.shape != self.attention_mask.shape:
            raise ValueError(
                f"calibration tokens must be [n, seqlen] with a mask of the same shape, got "
                f"{tuple(self.input_ids.shape)} and {tuple(self.attention_mask.shape)}"
            )
        self.input_ids = self.input_ids.long()
        self.attention_mask = self.attention_mask.long()

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    @property
    def seqlen(self) -> int:
        """Length of every sequence, padding included."""
        return self.input_ids.shape[1]

    @classmethod
    def cat(cls, parts: list[CalibrationSamples]) -> CalibrationSamples:
        """Concatenate samples of the same length."""
        return cls(torch.cat([p.input_ids for p in parts]), torch.cat([p.attention_mask for p in parts]))

    def save(self, path: str | Path) -> None:
        """Write ``{"input_ids", "attention_mask"}`` with ``torch.save``, atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(fd)
        try:
            torch.save({"input_ids": self.input_ids, "attention_mask": self.attention_mask}, tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | Path) -> CalibrationSamples:
        """Read a ``torch.save``d LongTensor ``[n, seqlen]`` (no padding) or a dict with ``input_ids`` (and mask)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"--calibration: token file {str(path)!r} does not exist")
        data = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(data, torch.Tensor):
            return cls(data, torch.ones_like(data))
        if isinstance(data, dict) and "input_ids" in data:
            ids = data["input_ids"]
            return cls(ids, data.get("attention_mask", torch.ones_like(ids)))
        raise ValueError(
            f"--calibration: {str(path)!r} must hold a LongTensor [n, seqlen] or a dict with 'input_ids' "
            "(and optionally 'attention_mask')"
        )
