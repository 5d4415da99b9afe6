"""LightningDataModule of the calibration stream (the evaluation stream is `calibprune.evaluation.datamodule`)."""

from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.datamodules.preview import describe_samples
from calibprune.datamodules.samples import CalibrationSamples

__all__ = ["CalibrationDataModule", "CalibrationSamples", "describe_samples"]
