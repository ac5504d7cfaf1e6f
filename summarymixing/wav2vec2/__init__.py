"""wav2vec 2.0 pre-training pieces: front-ends, quantiser, masking, losses, model.

Lengths are absolute counts and padding masks are ``True`` on padding
throughout; see :mod:`summarymixing.wav2vec2.lengths`.
"""

from summarymixing.wav2vec2.encoder_wrapper import EncoderOutput, W2V2EncoderWrapper
from summarymixing.wav2vec2.frontend_layers import (
    ConvLayerNormGELU,
    ConvLayerStack,
    masked_mean_variance_normalise,
)
from summarymixing.wav2vec2.frontends import FbankConvFrontEnd, WaveformConvFrontEnd
from summarymixing.wav2vec2.lengths import (
    LatentFrontEnd,
    frame_lengths_and_padding_mask,
    make_padding_mask,
    relative_to_absolute_lengths,
)
from summarymixing.wav2vec2.log_mel import LogMelFilterbank
from summarymixing.wav2vec2.losses import (
    contrastive_logits,
    contrastive_loss,
    diversity_loss,
)
from summarymixing.wav2vec2.masking import compute_span_mask
from summarymixing.wav2vec2.negatives import sample_distractors
from summarymixing.wav2vec2.positional import (
    ConvPositionalEmbedding,
    NoPositionalEncoding,
    SinusoidalPositionalEncoding,
    make_positional_encoding,
)
from summarymixing.wav2vec2.pretrainer import W2V2Pretrainer
from summarymixing.wav2vec2.quantiser import GumbelProductQuantiser, QuantiserOutput

__all__ = [
    "ConvLayerNormGELU",
    "ConvLayerStack",
    "ConvPositionalEmbedding",
    "EncoderOutput",
    "FbankConvFrontEnd",
    "GumbelProductQuantiser",
    "LatentFrontEnd",
    "LogMelFilterbank",
    "NoPositionalEncoding",
    "QuantiserOutput",
    "SinusoidalPositionalEncoding",
    "W2V2EncoderWrapper",
    "W2V2Pretrainer",
    "WaveformConvFrontEnd",
    "compute_span_mask",
    "contrastive_logits",
    "contrastive_loss",
    "diversity_loss",
    "frame_lengths_and_padding_mask",
    "make_padding_mask",
    "make_positional_encoding",
    "masked_mean_variance_normalise",
    "relative_to_absolute_lengths",
    "sample_distractors",
]
