"""Lightning callbacks: pruning methods that own their statistics hooks."""

from calibprune.callbacks.base import PruningMethod
from calibprune.callbacks.block_callback import BlockCallback
from calibprune.callbacks.dsnot import DSnoT
from calibprune.callbacks.magnitude import Magnitude
from calibprune.callbacks.ria import RIA
from calibprune.callbacks.sparsegpt import SparseGPT
from calibprune.callbacks.wanda import Wanda

__all__ = ["RIA", "BlockCallback", "DSnoT", "Magnitude", "PruningMethod", "SparseGPT", "Wanda"]
