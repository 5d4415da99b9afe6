"""The calibration advisor: rank candidate calibration sets for a target cheaply (``calibprune advise``).

Each candidate is scored by cheap proxies measured on the model itself (the first decoder blocks pruned with
the candidate's statistics, statistics distances, activation coverage, lexical diversity, the model's own
likelihood); ``docs/advisor/`` validates them against full pruning and evaluation.
"""
