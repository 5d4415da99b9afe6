"""Block inputs: the statistics pass stops at the input of the block's last Linear layer."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from calibprune.modeling.blocks import decoder_blocks, linear_layers
from calibprune.modeling.capture import capture_block_inputs, linear_call_order, run_block, run_block_until

LAST = {"tiny_llama_dir": "mlp.down_proj", "tiny_opt_dir": "fc2"}


@pytest.mark.parametrize("model_dir", list(LAST))
def test_statistics_pass_sees_every_input_and_skips_the_last_product(model_dir, request):
    model = AutoModelForCausalLM.from_pretrained(request.getfixturevalue(model_dir)).eval()
    input_ids = torch.randint(3, 100, (2, 16))
    block = decoder_blocks(model)[1][0]
    inputs = capture_block_inputs(model, block, input_ids, torch.ones_like(input_ids))
    layers = linear_layers(block)

    order, out = linear_call_order(block, inputs, layers)
    assert sorted(order) == sorted(layers) and order[-1] == LAST[model_dir]
    assert torch.equal(out, run_block(block, inputs))

    seen, ran = {}, []
    handles = [
        layer.register_forward_pre_hook(lambda _m, args, n=name: seen.setdefault(n, args[0].clone()))
        for name, layer in layers.items()
    ]
    handles += [layer.register_forward_hook(lambda _m, _a, _o, n=name: ran.append(n)) for name, layer in layers.items()]
    with torch.no_grad():
        run_block_until(block, inputs, layers[order[-1]])
    for handle in handles:
        handle.remove()
    assert set(seen) == set(layers)
    assert order[-1] not in ran and len(ran) == len(layers) - 1
    assert not layers[order[-1]]._forward_pre_hooks  # the stop hook is gone
