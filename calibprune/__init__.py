"""calibprune: one-shot pruning of causal LMs where the calibration data is a measured variable."""

__version__ = "0.1.0"
