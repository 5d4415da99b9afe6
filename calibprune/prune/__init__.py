"""The prune job: :class:`~calibprune.prune.module.PruningModule` and :class:`~calibprune.prune.trainer.PruningTrainer`.

``module``: the model pruned block by block on the predict loop (``activations``: what the next block receives;
``checkpoint``: the work directory of streamed and resumable runs);
``trainer``: the ``prune`` and ``evaluate`` jobs; ``checks``: their input checks; ``comparison``: dense vs pruned
evaluation; ``report``, ``summary``, ``results_file``: sparsity report, console summary and results JSON;
``saving``: the pruned model on disk.
"""
