"""Exact calibration tokens from a file (``torch.save``d LongTensor or dict)."""

from __future__ import annotations

from pathlib import Path

import torch

from calibprune.datamodules.samples import CalibrationSamples
from calibprune.datamodules.sources.base import CalibrationSource, SourceContext

ACCEPTED = (
    "accepted: a torch.save'd integer tensor [n, seqlen] of token ids, or a dict with 'input_ids' "
    "(and 'attention_mask')"
)


class TokenFileSource(CalibrationSource):
    """Calibrate on exactly the tokens stored in a file, in file order.

    The file is read and checked when the source is built (before any model is loaded): it must be a torch
    file of integer token ids ``>= 0`` (floats, NaN or negative ids are refused); ids beyond the vocabulary are
    refused once the vocabulary size is known (:meth:`check_vocab`).

    Args:
        path: a ``torch.save``d LongTensor ``[n, seqlen]`` or a dict with ``input_ids`` and ``attention_mask``
            (as written by ``--export_calibration``).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.data = _load(path)

    @property
    def max_id(self) -> int:
        """The largest token id in the file (``-1`` when empty)."""
        return int(self.data.input_ids.max()) if self.data.input_ids.numel() else -1

    def check_vocab(self, vocab_size: int | None) -> None:
        """Fail when a token id is outside the model's vocabulary of ``vocab_size`` ids.

        Raises:
            ValueError: naming ``--calibration``.
        """
        if vocab_size is not None and self.max_id >= vocab_size:
            raise ValueError(
                f"--calibration: token file {self.path!r} holds id {self.max_id}, beyond the model's "
                f"vocabulary of {vocab_size} ids; accepted: ids in [0, {vocab_size})"
            )

    def samples(self, context: SourceContext, nsamples: int, generator: torch.Generator) -> CalibrationSamples:
        """Return the first ``nsamples`` rows of the file; a file with fewer rows or another length is an error."""
        data = self.data
        if context.model is not None and hasattr(context.model, "get_input_embeddings"):
            self.check_vocab(context.model.get_input_embeddings().num_embeddings)
        if len(data) < nsamples:
            raise ValueError(f"--nsamples {nsamples}: token file {self.path!r} holds only {len(data)} sequences")
        if data.seqlen != context.seqlen:
            raise ValueError(f"--seqlen {context.seqlen}: token file {self.path!r} holds sequences of {data.seqlen}")
        return CalibrationSamples(data.input_ids[:nsamples], data.attention_mask[:nsamples])


def _load(path: str) -> CalibrationSamples:
    """Read and check a token file.

    Raises:
        FileNotFoundError, ValueError: naming ``--calibration`` and what it accepts.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"--calibration: token file {path!r} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch.load raises many types for a file that is not its own
        detail = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:100]
        raise ValueError(f"--calibration: {path!r} is not a readable torch file ({detail}); {ACCEPTED}") from None
    if isinstance(data, dict) and "input_ids" in data:
        ids = data["input_ids"]
        mask = data.get("attention_mask", torch.ones_like(ids) if isinstance(ids, torch.Tensor) else None)
    elif isinstance(data, torch.Tensor):
        ids, mask = data, torch.ones_like(data, dtype=torch.long)
    else:
        raise ValueError(f"--calibration: token file {path!r} holds a {type(data).__name__}; {ACCEPTED}")
    for name, tensor in (("input_ids", ids), ("attention_mask", mask)):
        if not isinstance(tensor, torch.Tensor) or tensor.dim() != 2:
            shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise ValueError(f"--calibration: {name} of token file {path!r} is {shape}, not [n, seqlen]; {ACCEPTED}")
        if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
            raise ValueError(
                f"--calibration: {name} of token file {path!r} holds {tensor.dtype} values, not integer "
                f"token ids; {ACCEPTED}"
            )
    if ids.shape != mask.shape:
        raise ValueError(
            f"--calibration: token file {path!r}: input_ids {tuple(ids.shape)} and attention_mask "
            f"{tuple(mask.shape)} differ in shape"
        )
    if ids.numel() and int(ids.min()) < 0:
        raise ValueError(f"--calibration: token file {path!r} holds negative ids ({int(ids.min())}); {ACCEPTED}")
    if mask.numel() and not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError(f"--calibration: attention_mask of token file {path!r} holds values other than 0 and 1")
    return CalibrationSamples(ids.long(), mask.long())
