"""Lightning callbacks: pruning methods that own their statistics hooks."""

from calibprune.callbacks.base import PruningMethod
from calibprune.callbacks.magnitude import Magnitude
from calibprune.callbacks.sparsegpt import SparseGPT
from calibprune.callbacks.wanda import Wanda

__all__ = ["Magnitude", "PruningMethod", "SparseGPT", "Wanda"]
