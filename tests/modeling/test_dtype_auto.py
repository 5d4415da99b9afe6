"""``--model.dtype auto``: the checkpoint's own dtype, float32 when it states none."""

from __future__ import annotations

import json

import pytest
import torch

from calibprune.modeling.loading import load_model, resolve_dtype


def _with_dtype(folder, tmp_path, dtype):
    copy = tmp_path / f"model-{dtype}"
    copy.mkdir()
    for path in folder.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    config = json.loads((copy / "config.json").read_text())
    config.pop("torch_dtype", None)
    if dtype is None:
        config.pop("dtype", None)
    else:
        config["dtype"] = dtype
    (copy / "config.json").write_text(json.dumps(config))
    return copy


@pytest.mark.parametrize(("stated", "expected"), [("bfloat16", "bfloat16"), ("float16", "float16"), (None, "float32")])
def test_auto_is_the_checkpoints_own_dtype(tiny_llama_dir, tmp_path, stated, expected):
    folder = _with_dtype(tiny_llama_dir, tmp_path, stated)
    assert resolve_dtype(str(folder), "auto") == expected
    assert load_model(str(folder), "auto").dtype == getattr(torch, expected)


def test_an_explicit_dtype_wins_and_gguf_is_float32(tiny_llama_dir, tmp_path):
    assert resolve_dtype(str(tiny_llama_dir), "bfloat16") == "bfloat16"
    assert resolve_dtype(str(tmp_path / "model.gguf"), "auto") == "float32"
    with pytest.raises(ValueError, match="--dtype must be one of float32, bfloat16, float16 or auto"):
        resolve_dtype(str(tiny_llama_dir), "float64")


def test_the_embedded_model_stays_float32():
    assert resolve_dtype("embedded", "auto") == "float32"
