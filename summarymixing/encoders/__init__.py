"""Drop-in Conformer and Branchformer encoders built around SummaryMixing.

Both take the constructor keys and the ``forward`` call of SpeechBrain 1.1's
encoders, so a SpeechBrain YAML switches by changing only its ``!new:`` target;
``attention_type`` selects SummaryMixing (default) or a SpeechBrain attention.
"""

from summarymixing.encoders.branchformer import BranchformerEncoder
from summarymixing.encoders.conformer import ConformerEncoder
from summarymixing.encoders.mixer import ATTENTION_TYPES

__all__ = ["ATTENTION_TYPES", "BranchformerEncoder", "ConformerEncoder"]
