"""Neural layers: SummaryMixing and the pieces it is built from."""

from summarymixing.layers.summaries import SummaryMixingStreamingState
from summarymixing.layers.summary_mixing import MODES, SummaryMixing

__all__ = ["MODES", "SummaryMixingStreamingState", "SummaryMixing"]
