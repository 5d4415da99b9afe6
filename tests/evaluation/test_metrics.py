import math

import pytest
import torch
from torchmetrics.text import Perplexity

from calibprune.evaluation.metrics import MeanWithStderr, TokenPerplexity


def test_mean_with_stderr_matches_the_sample_formula():
    values = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    metric = MeanWithStderr()
    metric.update(values[:3])
    metric.update(values[3:])
    mean, stderr, n = metric.compute()
    assert n == 7
    assert mean == pytest.approx(values.mean().item())
    assert stderr == pytest.approx(values.std(unbiased=True).item() / math.sqrt(7))


def test_mean_with_stderr_has_no_stderr_for_one_item_and_fails_on_none():
    metric = MeanWithStderr()
    metric.update(torch.tensor([1.0]))
    assert metric.compute() == (1.0, None, 1)
    with pytest.raises(ValueError, match="no item"):
        MeanWithStderr().compute()


def test_token_perplexity_equals_torchmetrics_perplexity():
    torch.manual_seed(0)
    logits = torch.randn(3, 10, 50)
    targets = torch.randint(0, 50, (3, 10))
    reference = Perplexity()
    reference.update(logits, targets)
    nll = torch.nn.functional.cross_entropy(logits.reshape(-1, 50), targets.reshape(-1), reduction="none")
    ours = TokenPerplexity()
    ours.update(nll.view(3, 10).sum(-1), torch.full((3,), 10))
    assert ours.compute().item() == pytest.approx(reference.compute().item(), rel=1e-5)
