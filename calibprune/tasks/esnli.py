"""e-SNLI (Camburu et al., 2018): SNLI with human explanations."""

from __future__ import annotations

from typing import ClassVar

from calibprune.tasks.base import HubSpec
from calibprune.tasks.nli import NLITask


class ESNLI(NLITask):
    """e-SNLI: entailment / neutral / contradiction; the rationale is ``explanation_1``."""

    name: ClassVar[str] = "esnli"
    hub: ClassVar[HubSpec] = HubSpec("esnli/esnli")
    rationale_field: ClassVar[str | None] = "explanation_1"
