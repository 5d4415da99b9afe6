"""The command line behind ``calibprune`` (entry point: :func:`calibprune.cli.main`).

``app``: the LightningCLI parser and subcommands; ``jobs``: the trainer whose methods they run (``prune`` and
``evaluate`` of :class:`~calibprune.prune.trainer.PruningTrainer`, ``study``, ``advise``); ``flags``: short flags;
``checks`` and ``study_checks``: input checks before any model loads; ``errors``: one-line error messages.
"""
