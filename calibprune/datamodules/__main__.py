"""Print a few decoded calibration sequences: ``python -m calibprune.datamodules --help``.

Example: ``python -m calibprune.datamodules --data.calibration [gsm8k] --data.data_dir ../shared/data
--data.format icl-cot --data.seqlen 512 --n 2`` (every ``--data.*`` option of
:class:`~calibprune.datamodules.CalibrationDataModule`; ``--model`` picks the tokenizer).
"""

from __future__ import annotations

from jsonargparse import ArgumentParser

from calibprune.datamodules.calibration import CalibrationDataModule
from calibprune.datamodules.preview import describe_samples
from calibprune.modeling.loading import EMBEDDED_MODEL, load_tokenizer


def main(args: list[str] | None = None) -> None:
    """Build the calibration samples of the given options and print the first ``--n`` of them, decoded."""
    parser = ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=str, default=EMBEDDED_MODEL, help="model whose tokenizer is used")
    parser.add_argument("--n", type=int, default=3, help="number of sequences shown")
    parser.add_class_arguments(CalibrationDataModule, "data")
    config = parser.parse_args(args)
    datamodule = CalibrationDataModule(**config.data.as_dict())
    datamodule.connect(load_tokenizer(config.model))
    datamodule.setup()
    print(describe_samples(datamodule.samples, datamodule.context.tokenizer, config.n))


if __name__ == "__main__":
    main()
