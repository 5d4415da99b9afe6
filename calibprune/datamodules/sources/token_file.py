"""Exact calibration tokens from a file (``torch.save``d LongTensor or dict)."""

from __future__ import annotations

from pathlib import Path

import torch

from calibprune.datamodules.samples import CalibrationSamples
from calibprune.datamodules.sources.base import CalibrationSource, SourceContext
from calibprune.errors import OptionError

ACCEPTED = (
    "a torch.save'd integer tensor [n, seqlen] of token ids, or a dict with 'input_ids' (and 'attention_mask' of "
    "0 and 1, at least one 1 per row)"
)


class TokenFileSource(CalibrationSource):
    """Calibrate on exactly the tokens stored in a file, in file order.

    The file is read and checked when the source is built (before any model is loaded): it must be a torch
    file of integer token ids ``>= 0`` (floats, NaN or negative ids are refused) with a 0/1 attention mask that
    is not all padding; :meth:`check` refuses too few rows, another sequence length, rows without a real token
    and ids beyond the vocabulary, from the file alone (the command line calls it before the model loads,
    :meth:`samples` again).

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
            OptionError: naming ``calibration``.
        """
        if vocab_size is not None and self.max_id >= vocab_size:
            raise OptionError(
                "calibration",
                f"token file {self.path!r} holds id {self.max_id}, beyond the model's vocabulary of {vocab_size} ids",
                f"ids in [0, {vocab_size})",
            )

    def check(self, nsamples: int, seqlen: int, vocab_size: int | None = None) -> None:
        """Fail when the file's first ``nsamples`` rows cannot be the calibration sequences.

        Raises:
            OptionError: naming ``nsamples`` (too few rows), ``seqlen`` (another length) or ``calibration`` (a row
                without a real token, an id beyond the vocabulary).
        """
        data = self.data
        if len(data) < nsamples:
            raise OptionError(
                "nsamples",
                f"{nsamples}: token file {self.path!r} holds only {len(data)} sequences",
                f"at most {len(data)} from this file",
            )
        if data.seqlen != seqlen:
            raise OptionError(
                "seqlen", f"{seqlen}: token file {self.path!r} holds sequences of {data.seqlen}", str(data.seqlen)
            )
        real = data.attention_mask[:nsamples].sum(dim=1)
        empty = (real == 0).nonzero().flatten()
        if len(empty):
            count = f" ({len(empty)} of the first {nsamples} rows)" if len(empty) > 1 else ""
            raise _refuse(
                self.path,
                f"row {int(empty[0])} has no real token{count}: its attention_mask is all 0, it would add nothing",
            )
        self.check_vocab(vocab_size)

    def samples(self, context: SourceContext, nsamples: int, generator: torch.Generator) -> CalibrationSamples:
        """Return the first ``nsamples`` rows of the file, after :meth:`check` (with the model's vocabulary)."""
        vocab_size = None
        if context.model is not None and hasattr(context.model, "get_input_embeddings"):
            vocab_size = context.model.get_input_embeddings().num_embeddings
        self.check(nsamples, context.seqlen, vocab_size)
        return CalibrationSamples(self.data.input_ids[:nsamples], self.data.attention_mask[:nsamples])


def _refuse(path: str, problem: str) -> OptionError:
    return OptionError("calibration", f"token file {path!r} {problem}", ACCEPTED)


def _load(path: str) -> CalibrationSamples:
    """Read and check a token file.

    Raises:
        OptionError: naming ``calibration`` and what it accepts.
    """
    if Path(path).is_dir():
        raise _refuse(path, "is a folder")
    if not Path(path).is_file():
        raise _refuse(path, "does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch.load raises many types for a file that is not its own
        detail = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:100]
        raise OptionError("calibration", f"{path!r} is not a readable torch file ({detail})", ACCEPTED) from None
    if isinstance(data, dict) and "input_ids" in data:
        ids = data["input_ids"]
        mask = data.get("attention_mask", torch.ones_like(ids) if isinstance(ids, torch.Tensor) else None)
    elif isinstance(data, torch.Tensor):
        ids, mask = data, torch.ones_like(data, dtype=torch.long)
    else:
        raise _refuse(path, f"holds a {type(data).__name__}")
    for name, tensor in (("input_ids", ids), ("attention_mask", mask)):
        if not isinstance(tensor, torch.Tensor) or tensor.dim() != 2:
            shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise OptionError("calibration", f"{name} of token file {path!r} is {shape}, not [n, seqlen]", ACCEPTED)
        if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
            raise OptionError(
                "calibration",
                f"{name} of token file {path!r} holds {tensor.dtype} values, not integer token ids",
                ACCEPTED,
            )
    if ids.shape != mask.shape:
        raise _refuse(path, f"input_ids {tuple(ids.shape)} and attention_mask {tuple(mask.shape)} differ in shape")
    if ids.numel() and int(ids.min()) < 0:
        raise _refuse(path, f"holds negative ids ({int(ids.min())})")
    if mask.numel() and not bool(((mask == 0) | (mask == 1)).all()):
        raise OptionError("calibration", f"attention_mask of token file {path!r} holds values other than 0 and 1")
    if ids.numel() and not bool(mask.any()):
        raise _refuse(path, "has an attention_mask of all 0: no real token, every sequence is padding")
    return CalibrationSamples(ids.long(), mask.long())
