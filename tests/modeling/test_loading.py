import pytest
import torch
from transformers import AutoModelForCausalLM

from calibprune.modeling.loading import embedded_gguf_path, embedded_model_dir, load_model, load_tokenizer


def test_load_local_model_in_requested_dtype(tiny_llama_dir):
    model = load_model(str(tiny_llama_dir), dtype="bfloat16")
    assert next(model.parameters()).dtype == torch.bfloat16
    assert not model.training


def test_unknown_dtype_names_the_flag(tiny_llama_dir):
    with pytest.raises(ValueError, match="--dtype must be one of float32, bfloat16, float16"):
        load_model(str(tiny_llama_dir), dtype="int3")


def test_missing_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="--model: cannot load a causal LM"):
        load_model(str(tmp_path / "nowhere"))


def test_tokenizer_pads_without_new_tokens(tiny_llama_dir):
    tokenizer = load_tokenizer(str(tiny_llama_dir))
    assert tokenizer.pad_token_id is not None
    assert tokenizer.padding_side == "right"
    assert len(tokenizer) == 49152


@pytest.mark.slow
def test_embedded_cache_equals_gguf_dequantisation():
    gguf = embedded_gguf_path()
    cached = load_model("embedded")
    direct = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    ids = torch.tensor([[1, 504, 3458, 282, 4649, 314]])
    with torch.no_grad():
        torch.testing.assert_close(cached(ids).logits, direct(ids).logits, rtol=0, atol=0)
    assert (embedded_model_dir() / "model.safetensors").is_file()
    assert not hasattr(cached.config, "quantization_config")
    assert cached.config.num_hidden_layers == 30
