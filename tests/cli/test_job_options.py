"""The options of ``prune`` and ``advise`` are defined once, as dataclass fields: each is one flag with its doc, and
a check raised when the dataclass is built names the flag as typed."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from calibprune.advisor.options import AdviseOptions
from calibprune.command_line.option_names import OptionNames
from calibprune.errors import OptionError
from calibprune.job_options import field_docs
from calibprune.prune.options import PruneOptions
from tests.cli.helpers import prune_args, run_cli


@pytest.mark.parametrize(("subcommand", "options"), [("prune", PruneOptions), ("advise", AdviseOptions)])
def test_help_lists_every_field_once_with_its_doc(capsys, subcommand, options):
    code, out, _ = run_cli(capsys, subcommand, "-h")
    assert code == 0
    help_text = " ".join(out.split())
    docs = field_docs(options)
    for field in fields(options):
        assert len(re.findall(rf"^  --{field.name}[ ,]", out, flags=re.MULTILINE)) == 1, field.name
        doc = " ".join(docs[field.name].split()).removeprefix(f"{field.name}: ")
        assert doc in help_text, field.name
        default = "null" if field.default is None else field.default
        shown = rf"{re.escape(doc)} \(type: [^)]*, default: {re.escape(str(default))}\)"
        assert re.search(shown, help_text), field.name


def test_a_field_check_names_the_parameter_and_the_command_line_names_the_flag():
    with pytest.raises(OptionError) as caught:
        PruneOptions(eval_batch_size=0)
    names = OptionNames({"--eval_batch_size", "--data.batch_size"}, ["prune", "--eval_batch_size", "0"])
    assert names.line(caught.value) == "--eval_batch_size: must be an integer >= 1, got 0"


CASES = {
    "prune: evaluation option, no tasks": (["--eval_batch_size", "0"], "--eval_batch_size: must be an integer >= 1"),
    "prune: output without tasks": (["--output", "r.json"], "--output: prune writes the results of --tasks"),
    "prune: key of a config file": (["--config", "{config}"], "--eval_limit: must be an integer >= 1, got 0"),
}


@pytest.mark.parametrize("case", CASES)
def test_prune_option_checks_name_the_flag(capsys, in_tmp_dir, no_model_load, tiny_llama_dir, token_file, case):
    extra, message = CASES[case]
    config = in_tmp_dir / "job.yaml"
    config.write_text("tasks: [wikitext]\neval_limit: 0\n")
    code, out, err = run_cli(capsys, *prune_args(tiny_llama_dir, token_file, *[a.format(config=config) for a in extra]))
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith(f"calibprune: error: {message}"), lines
    assert sorted(p.name for p in in_tmp_dir.iterdir()) == ["job.yaml"], "bad input left files behind"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target_offset", "-1"], "--target_offset must be an integer >= 0, got -1"),
        (["--bootstrap", "-2"], "--bootstrap must be an integer >= 0, got -2"),
        (["--proxy", "vibes", "--blocks", "1"], "--proxy: unknown proxy 'vibes'"),
    ],
)
def test_advise_option_checks_name_the_flag(capsys, in_tmp_dir, no_model_load, tiny_llama_dir, extra, message):
    args = ["advise", "--model", str(tiny_llama_dir), "--candidates", "[random, ellipses]", "--targets", "[wikitext]"]
    code, _, err = run_cli(capsys, *args, *extra)
    errors = [line for line in err.splitlines() if line.startswith("calibprune: error:")]
    assert code == 2, err
    assert len(errors) == 1 and message in errors[0], err
    assert list(in_tmp_dir.iterdir()) == [], "bad input left files behind"
