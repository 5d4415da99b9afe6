"""Adversarial NLI (Nie et al., 2020), rounds 1 to 3."""

from __future__ import annotations

from typing import ClassVar

from calibprune.tasks.base import HubSpec
from calibprune.tasks.nli import NLITask


class ANLIR1(NLITask):
    """ANLI round 1: entailment / neutral / contradiction.

    ``reason`` is the annotator's note on how the model was fooled, not a chain of thought: no rationale.
    """

    name: ClassVar[str] = "anli_r1"
    hub: ClassVar[HubSpec] = HubSpec("facebook/anli", None, "train_r1", "test_r1")


class ANLIR2(ANLIR1):
    """ANLI round 2 (same template as round 1)."""

    name: ClassVar[str] = "anli_r2"
    hub: ClassVar[HubSpec] = HubSpec("facebook/anli", None, "train_r2", "test_r2")


class ANLIR3(ANLIR1):
    """ANLI round 3 (same template as round 1)."""

    name: ClassVar[str] = "anli_r3"
    hub: ClassVar[HubSpec] = HubSpec("facebook/anli", None, "train_r3", "test_r3")
