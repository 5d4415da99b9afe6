"""LightningDataModules for the calibration stream (and, later, evaluation)."""

from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.datamodules.preview import describe_samples
from calibprune.datamodules.samples import CalibrationSamples

__all__ = ["CalibrationDataModule", "CalibrationSamples", "describe_samples"]
