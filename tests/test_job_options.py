"""``takes_options``: a job's options defined once, as dataclass fields, reach jsonargparse as flags with their help."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import pytest
from jsonargparse import ArgumentParser

from calibprune.job_options import field_docs, takes_options


@dataclass(frozen=True)
class ToyOptions:
    """Options of a toy job.

    Attributes:
        size: how many, at least 1 (checked when built).
        names: what to call them,
            on two lines.
    """

    size: int = 2
    names: list[str] | None = None

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"size must be >= 1, got {self.size}")


class Toy:
    @takes_options(ToyOptions)
    def job(self, model: str, datamodule: str | None = None, *, options: ToyOptions) -> tuple:
        """Run the toy job.

        Args:
            model: the model.
            options: the toy's options.
            datamodule: the data.
        """
        return model, datamodule, options


def test_the_method_takes_each_field_by_name_with_its_type_default_and_doc():
    parameters = inspect.signature(Toy.job).parameters
    assert list(parameters) == ["self", "model", "datamodule", "size", "names"]
    assert parameters["size"].kind is inspect.Parameter.KEYWORD_ONLY
    assert (parameters["size"].annotation, parameters["size"].default) == (int, 2)
    assert Toy.job.__annotations__["names"] == (list[str] | None)
    assert "    size: how many, at least 1 (checked when built).\n" in Toy.job.__doc__
    assert "    names: what to call them,\n        on two lines.\n    datamodule: the data." in Toy.job.__doc__
    assert "options:" not in Toy.job.__doc__
    assert Toy().job("m", size=3) == ("m", None, ToyOptions(size=3))
    with pytest.raises(ValueError, match="size must be >= 1"):
        Toy().job("m", size=0)
    with pytest.raises(TypeError):
        Toy().job("m", sizes=3)


def test_jsonargparse_reads_the_fields_as_flags_with_their_help():
    parser = ArgumentParser(exit_on_error=False)
    added = parser.add_method_arguments(Toy, "job", skip={"model", "datamodule"})
    assert set(added) == {"size", "names"}
    assert parser.parse_args(["--size", "5", "--names", "[a, b]"]).as_dict() == {"size": 5, "names": ["a", "b"]}
    assert parser.parse_string("size: 4\n").size == 4
    help_text = " ".join(parser.format_help().split())
    assert "--size SIZE how many, at least 1 (checked when built). (type: int, default: 2)" in help_text
    assert "what to call them, on two lines." in help_text


def test_field_docs_reads_the_attributes_section():
    assert field_docs(ToyOptions) == {
        "size": "    size: how many, at least 1 (checked when built).",
        "names": "    names: what to call them,\n        on two lines.",
    }


def test_a_field_without_doc_or_default_is_refused():
    @dataclass
    class Undocumented:
        """Options.

        Attributes:
            size: documented.
        """

        size: int = 1
        hidden: int = 2

    @dataclass
    class Factory:
        """Options.

        Attributes:
            sizes: documented.
        """

        sizes: list[int] = field(default_factory=list)

    def job(self, *, options) -> None:
        """Job.

        Args:
            options: the options.
        """

    with pytest.raises(TypeError, match="hidden has no entry"):
        takes_options(Undocumented)(job)
    with pytest.raises(TypeError, match="sizes: an option has a plain default, or none"):
        takes_options(Factory)(job)


def test_a_field_without_default_is_a_required_parameter():
    @dataclass
    class Needed:
        """Options.

        Attributes:
            grid: what to cross (required).
        """

        grid: list[int]

    def job(*, options):  # a local class: no annotation, which would be resolved in the module
        """Job.

        Args:
            options: the options.
        """
        return options

    method = takes_options(Needed)(job)
    assert inspect.signature(method).parameters["grid"].default is inspect.Parameter.empty
    assert method(grid=[1]) == Needed([1])
    with pytest.raises(TypeError):
        method()
