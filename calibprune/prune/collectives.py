"""What the block loop needs from the processes it runs in: sums, barriers, rank 0's weights, a stop request.

A Lightning trainer provides them through its strategy (:class:`TrainerCollectives`); a caller without one (the
advisor's probe, one process) uses :class:`SingleProcess`. The pipeline and the pruning methods reach them only
through this interface.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


class SingleProcess:
    """One process: every collective is the identity, nothing waits, nothing asks to stop."""

    global_rank = 0
    world_size = 1

    @property
    def is_global_zero(self) -> bool:
        """Whether this is the process that writes shared outputs (rank 0)."""
        return self.global_rank == 0

    @property
    def received_sigterm(self) -> bool:
        """Whether the job was asked to stop (SIGTERM) since it started."""
        return False

    def reduce(self, tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
        """``tensor`` reduced over all processes with ``op`` (``sum``, ``min``...)."""
        return tensor

    def barrier(self, name: str) -> None:
        """Wait until every process reaches this point."""

    def broadcast_weights(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        """Make every process hold rank 0's values of ``parameters``."""


class TrainerCollectives(SingleProcess):
    """The collectives of a Lightning trainer's strategy.

    Args:
        trainer: the trainer whose processes prune together.
    """

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer

    @property
    def global_rank(self) -> int:
        """This process's rank."""
        return self.trainer.global_rank

    @property
    def world_size(self) -> int:
        """How many processes prune together."""
        return self.trainer.world_size

    @property
    def received_sigterm(self) -> bool:
        """Whether the job was sent SIGTERM (Lightning only records it; e.g. preemption)."""
        return bool(self.trainer.received_sigterm)

    def reduce(self, tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
        """``tensor`` reduced over the strategy's processes with ``op``."""
        return self.trainer.strategy.reduce(tensor, reduce_op=op)

    def barrier(self, name: str) -> None:
        """The strategy's barrier."""
        self.trainer.strategy.barrier(name)

    def broadcast_weights(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        """Rank 0's pruned weights on every rank (guards against last-bit differences between processes)."""
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            for parameter in parameters:
                torch.distributed.broadcast(parameter.data, src=0)
