"""Calibration samples: token ids and the attention mask that marks padding, saved and loaded exactly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from calibprune.files.atomic import check_file, write_with

PARAMETER = "export_calibration"
ACCEPTED = "a new file path (.pt), or a token file calibprune exported"
WRITTEN_BY = "calibprune"  # the mark of an exported token file: the only file an export replaces


def is_export(path: Path) -> bool:
    """Whether ``path`` holds token files calibprune exported (``written_by``, besides the ids and the mask)."""
    data = torch.load(path, map_location="cpu", weights_only=True)
    return isinstance(data, dict) and data.get("written_by") == WRITTEN_BY


def check_export(path: str | Path) -> Path:
    """Fail before any work when the export path is a folder, unwritable, or a file calibprune did not export.

    Raises:
        OptionError: naming ``export_calibration`` and what it accepts.
    """
    return check_file(path, PARAMETER, ACCEPTED, signature=is_export)


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
        """Write ``{"input_ids", "attention_mask", "written_by"}`` with ``torch.save``, atomically.

        Raises:
            OptionError: naming ``export_calibration`` when ``path`` is a file calibprune did not export.
        """
        data = {"input_ids": self.input_ids, "attention_mask": self.attention_mask, "written_by": WRITTEN_BY}
        write_with(path, lambda tmp: torch.save(data, tmp), PARAMETER, accepted=ACCEPTED, signature=is_export)

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
