"""RIA and DSnoT on the embedded SmolLM2-135M against the authors' code, on the tokens of test_reference_match.

Teacher-forced block by block as Wanda is there (16 x 256 C4 tokens): the authors' per-layer code
(tests/authors_reference.py) prunes a dense copy of each block on the inputs our pipeline fed it, with their
own per-sample statistics. The masks must agree on 99.99% of the entries of every matrix: a last-bit difference
between their running averages and our sums can flip a near-tied weight (RIA's whole-matrix threshold also
prunes one weight more than the ratio in theirs: 1 in 147,456 at least).
"""

from __future__ import annotations

import pytest

from calibprune.callbacks import RIA, DSnoT
from tests import authors_reference as authors
from tests.callbacks.test_ria_dsnot_reference import NamedReference
from tests.integration.test_reference_match import (  # noqa: F401 (fixtures)
    _assert_agree,
    calibration,
    prune_ours,
)

pytestmark = [pytest.mark.slow, pytest.mark.data]


def _prune(layer, mask):
    layer.weight.data[mask] = 0


def test_ria_unstructured_masks_equal_the_authors(calibration):  # noqa: F811
    def prune(layer, stats):
        _prune(layer, authors.ria_mask(layer.weight.data, stats.scaler_row, 0.5))

    shadow = NamedReference(authors.WrappedGPT, prune)
    prune_ours(RIA(sparsity_ratio=0.5), calibration[0], [shadow])
    _assert_agree(shadow.agreement)


def test_ria_2_4_masks_equal_the_authors(calibration):  # noqa: F811
    def prune(layer, stats):
        _prune(layer, authors.ria_mask(layer.weight.data, stats.scaler_row, 0.5, 2, 4))

    shadow = NamedReference(authors.WrappedGPT, prune)
    prune_ours(RIA(sparsity_type="2:4"), calibration[0], [shadow])
    _assert_agree(shadow.agreement)


@pytest.mark.parametrize(("initial", "sparsity_type"), [("wanda", "unstructured"), ("sparsegpt", "2:4")])
def test_dsnot_masks_equal_the_authors(calibration, initial, sparsity_type):  # noqa: F811
    n, m = (2, 4) if sparsity_type == "2:4" else (0, 0)
    args = authors.dsnot_args(0.5, initial)

    def prune(layer, stats):
        _prune(layer, authors.dsnot_mask(args, shadow.names[id(layer)], layer.weight.data, stats, n, m))

    shadow = NamedReference(lambda layer: authors.WrappedGPT(layer, initial), prune)
    prune_ours(DSnoT(initial=initial, sparsity_type=sparsity_type), calibration[0], [shadow])
    _assert_agree(shadow.agreement)
