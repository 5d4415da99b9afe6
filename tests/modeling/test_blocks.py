import pytest
import torch
from torch import nn
from transformers import AutoModelForCausalLM

from calibprune.modeling.blocks import decoder_blocks, linear_layers
from calibprune.modeling.capture import capture_block_inputs, run_block
from tests.conftest import tiny_config

ARCHS = ["llama", "qwen2", "opt", "gpt_neox"]
EXPECTED_PATHS = {
    "llama": "model.layers",
    "qwen2": "model.layers",
    "opt": "model.decoder.layers",
    "gpt_neox": "gpt_neox.layers",
}


def _model(arch: str) -> nn.Module:
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(tiny_config(arch, 128), attn_implementation="sdpa").eval()


@pytest.mark.parametrize("arch", ARCHS)
def test_decoder_blocks_found_by_path(arch):
    path, blocks = decoder_blocks(_model(arch))
    assert path == EXPECTED_PATHS[arch]
    assert len(blocks) == 2
    layers = linear_layers(blocks[0])
    assert len(layers) >= 4 and all(isinstance(m, nn.Linear) for m in layers.values())


def test_unknown_architecture_found_by_search():
    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.config = type("C", (), {"num_hidden_layers": 3})()
            self.stack = nn.ModuleList(nn.Sequential(nn.Linear(4, 4)) for _ in range(3))

    path, blocks = decoder_blocks(Wrapper())
    assert path == "stack" and len(blocks) == 3


def test_non_decoder_model_is_a_clear_error():
    with pytest.raises(ValueError, match="--model: .*decoder"):
        decoder_blocks(nn.Linear(3, 3))


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("padded", [False, True])
def test_replaying_blocks_on_captured_inputs_reproduces_the_model(arch, padded):
    """Chaining blocks on the model-computed kwargs gives the model's own hidden states."""
    model = _model(arch)
    ids = torch.randint(0, 128, (3, 12))
    mask = torch.ones_like(ids)
    if padded:
        mask[1, 7:] = 0
        mask[2, 3:] = 0
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
        _, blocks = decoder_blocks(model)
        inputs = capture_block_inputs(model, blocks[0], ids, mask)
        assert torch.equal(inputs.token_mask, mask)
        torch.testing.assert_close(inputs.hidden, expected[0])
        for index, block in enumerate(blocks[:-1]):
            inputs.hidden = run_block(block, inputs)
            real = mask.bool()
            torch.testing.assert_close(inputs.hidden[real], expected[index + 1][real], rtol=1e-5, atol=1e-5)
