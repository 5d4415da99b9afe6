"""LightningDataModules for the calibration stream (and, later, evaluation)."""

from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.datamodules.samples import CalibrationSamples

__all__ = ["CalibrationDataModule", "CalibrationSamples"]
