"""Loading Hugging Face causal LMs and finding their decoder blocks and Linear layers."""

from calibprune.modeling.blocks import decoder_blocks, linear_layers
from calibprune.modeling.loading import EMBEDDED_MODEL, load_model, load_tokenizer

__all__ = ["EMBEDDED_MODEL", "decoder_blocks", "linear_layers", "load_model", "load_tokenizer"]
