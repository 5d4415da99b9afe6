"""`--sparsity_ratio` next to `--sparsity_type N:M`: a real "not given"; agreement accepted, contradiction refused."""

import pytest
import torch

from calibprune.callbacks import Magnitude, SparseGPT, Wanda
from tests.cli.helpers import prune_args, run_cli


@pytest.mark.parametrize("method", [Wanda, SparseGPT, Magnitude])
def test_ratio_defaults_to_half_or_to_n_over_m(method):
    assert method().pattern.ratio == 0.5
    assert method(sparsity_type="1:4").pattern.ratio == 0.25
    assert method(sparsity_ratio=0.5, sparsity_type="2:4").pattern.ratio == 0.5  # the seed's habit agrees


@pytest.mark.parametrize(("ratio", "sparsity_type"), [(0.5, "1:4"), (0.7, "2:4"), (0.25, "3:4")])
def test_an_explicit_contradicting_ratio_is_an_error(ratio, sparsity_type):
    with pytest.raises(ValueError, match=f"sparsity_ratio: {ratio:g} contradicts sparsity_type {sparsity_type}"):
        Wanda(sparsity_ratio=ratio, sparsity_type=sparsity_type)


def test_cli_refuses_half_with_one_in_four(capsys, tmp_path, monkeypatch, tiny_llama_dir, tokenizer):
    monkeypatch.chdir(tmp_path)
    ids = torch.randint(3, len(tokenizer), (6, 32), generator=torch.Generator().manual_seed(0))
    torch.save({"input_ids": ids, "attention_mask": torch.ones_like(ids)}, tmp_path / "tokens.pt")
    args = prune_args(
        tiny_llama_dir,
        tmp_path / "tokens.pt",
        "--sparsity_type",
        "1:4",
        "--sparsity_ratio",
        "0.5",
        "--save_model",
        "out",
    )
    code, _, err = run_cli(capsys, *args)
    assert code == 2
    assert "--sparsity_ratio: 0.5 contradicts --sparsity_type 1:4 (which prunes 0.25)" in err
    assert not (tmp_path / "out").exists()
    nested = [a if a != "--sparsity_ratio" else "--method.sparsity_ratio" for a in args]
    code, _, err = run_cli(capsys, *nested)
    assert code == 2 and "contradicts --sparsity_type 1:4" in err
