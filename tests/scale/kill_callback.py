"""Test-only callback: SIGKILL the process mid-prune, as a crash or a pre-empted job would."""

import os
import signal

from calibprune.callbacks.block_callback import BlockCallback

ENV = "CALIBPRUNE_TEST_KILL_AFTER_BLOCK"


class KillAfterBlock(BlockCallback):
    """Kill -9 this process right after block ``$CALIBPRUNE_TEST_KILL_AFTER_BLOCK`` is pruned (before it is saved)."""

    def on_block_pruned(self, trainer, pl_module, index, layers):
        if os.environ.get(ENV) == str(index):
            os.kill(os.getpid(), signal.SIGKILL)
