"""Each option defined once: methods declare their own options and take the shared ones through ``**kwargs``."""

from __future__ import annotations

import inspect

import pytest
from jsonargparse import ArgumentParser

from calibprune.callbacks.base import PruningMethod
from calibprune.callbacks.registry import method_names, parameters_of, pruning_methods
from calibprune.errors import OptionError

SHARED = {"sparsity_ratio", "sparsity_type", "count_padding", "targets", "ignore", "layer_sparsity", "owl", "owl_m"}


class Thinned(PruningMethod):
    """A method written the way a new one is: its own option, the shared ones passed on.

    Args:
        keep: an option of its own.
        **kwargs: the options every method shares.
    """

    def __init__(self, keep: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.keep = keep


def _parser() -> ArgumentParser:
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(PruningMethod, "method")
    return parser


def test_the_registry_lists_every_shipped_method_from_its_file():
    assert {"magnitude", "sparsegpt", "wanda", "ria", "dsnot"} <= set(pruning_methods())
    assert method_names() == ", ".join(cls.__name__ for cls in pruning_methods().values())


@pytest.mark.parametrize("name", ["Wanda", "SparseGPT", "Magnitude"])
def test_each_method_takes_the_shared_options_once_declared(name):
    cls = pruning_methods()[name.lower()]
    assert SHARED <= parameters_of([cls])
    init = cls.__dict__.get("__init__")  # its own constructor, if it has one
    own = set(inspect.signature(init).parameters) - {"self", "args", "kwargs"} if init else set()
    assert not own & SHARED, f"{name} declares shared options again: {own & SHARED}"


def test_shared_options_parse_with_their_help_for_a_kwargs_subclass(capsys):
    parser = _parser()
    config = parser.parse_args(
        ["--method", f"{__name__}.Thinned", "--method.keep", "3", "--method.sparsity_ratio", "0.6"]
        + ["--method.owl_m", "4"]
    )
    method = parser.instantiate_classes(config).method
    assert (method.keep, method.pattern.ratio, method.block_sparsity.owl_m) == (3, 0.6, 4.0)
    with pytest.raises(SystemExit):
        parser.parse_args(["--method.help", "calibprune.callbacks.SparseGPT"])
    help_text = capsys.readouterr().out
    assert "--method.percdamp" in help_text and "--method.sparsity_ratio" in help_text
    assert "OWL's outlier threshold M" in help_text  # the shared option's doc, written once on PruningMethod


def test_wanda_keeps_its_positional_ratio():
    assert pruning_methods()["wanda"](0.7).pattern.ratio == 0.7
    assert pruning_methods()["sparsegpt"](0.6, blocksize=16).blocksize == 16


def test_owl_is_refused_by_a_method_without_statistics():
    with pytest.raises(OptionError, match="owl: needs calibration statistics; Magnitude reads none"):
        pruning_methods()["magnitude"](owl=True)
