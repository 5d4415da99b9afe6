"""Scorers by evaluation kind: adding a kind is one class and one entry in ``SCORERS``."""

from calibprune.evaluation.scorers.arithmetic import ArithmeticScorer
from calibprune.evaluation.scorers.base import Scorer
from calibprune.evaluation.scorers.choice import ChoiceScorer
from calibprune.evaluation.scorers.perplexity import PerplexityScorer
from calibprune.evaluation.scorers.translation import TranslationScorer

SCORERS: dict[str, type[Scorer]] = {
    "perplexity": PerplexityScorer,
    "multiple_choice": ChoiceScorer,
    "arithmetic": ArithmeticScorer,
    "translation": TranslationScorer,
}

__all__ = ["SCORERS", "ArithmeticScorer", "ChoiceScorer", "PerplexityScorer", "Scorer", "TranslationScorer"]
