"""Test-only callback: SIGKILL the process mid-prune, as a crash or a pre-empted job would."""

import os
import signal

from calibprune.callbacks.block_callback import BlockCallback

ENV = "CALIBPRUNE_TEST_KILL_AFTER_BLOCK"
SIGNAL_ENV = "CALIBPRUNE_TEST_KILL_SIGNAL"


class KillAfterBlock(BlockCallback):
    """Kill this process right after block ``$CALIBPRUNE_TEST_KILL_AFTER_BLOCK`` is pruned (before it is saved).

    The signal is ``$CALIBPRUNE_TEST_KILL_SIGNAL`` (default ``SIGKILL``; ``SIGTERM`` is what a pre-empted job gets).
    """

    def on_block_pruned(self, trainer, pl_module, index, layers):
        if os.environ.get(ENV) == str(index):
            os.kill(os.getpid(), signal.Signals[os.environ.get(SIGNAL_ENV, "SIGKILL")])
