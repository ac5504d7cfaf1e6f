"""summarymixing: linear-time SummaryMixing for self-supervised speech models.

The public entry points are re-exported here so that a SpeechBrain YAML can
write ``!new:summarymixing.SummaryMixing`` or
``!new:summarymixing.ConformerEncoder``.
"""

from summarymixing.encoders import BranchformerEncoder, ConformerEncoder
from summarymixing.layers import SummaryMixing

__version__ = "0.1.0"
__all__ = ["BranchformerEncoder", "ConformerEncoder", "SummaryMixing"]
