"""Convolutional relative positional embedding of wav2vec 2.0.

A wide grouped convolution over time (kernel 128, 16 groups, weight
normalisation over the kernel axis, GELU) whose output is added to its input:
each frame learns where it sits relative to its neighbours, without absolute
positions, so any utterance length works. SpeechBrain's ``EncoderWrapper``
adds sinusoidal absolute encodings instead; wav2vec 2.0 found the
convolutional one better for speech.

The caller must zero padded frames first, as
:class:`~.encoder_wrapper.W2V2EncoderWrapper` does: the convolution's own zero
padding then sees exactly what an utterance alone would see, so padding never
leaks into real frames.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm


class ConvPositionalEmbedding(nn.Module):
    """Grouped-convolution positional embedding, returned (not added).

    Arguments
    ---------
    d_model : int
        Channels of the input and output.
    kernel_size : int
        Receptive field in frames (128 frames = 2.56 s at 20 ms).
    groups : int
        Convolution groups; must divide ``d_model``.

    Example
    -------
    >>> embed = ConvPositionalEmbedding(d_model=32, kernel_size=8, groups=4)
    >>> embed(torch.randn(2, 10, 32)).shape
    torch.Size([2, 10, 32])
    """

    def __init__(self, d_model: int, kernel_size: int = 128, groups: int = 16):
        super().__init__()
        if d_model % groups != 0:
            raise ValueError(
                f"groups={groups} must divide d_model={d_model} for the "
                "convolutional positional embedding; pass e.g. groups=1."
            )
        conv = nn.Conv1d(
            d_model, d_model, kernel_size, padding=kernel_size // 2, groups=groups
        )
        nn.init.normal_(
            conv.weight, mean=0.0, std=math.sqrt(4.0 / (kernel_size * d_model))
        )
        nn.init.zeros_(conv.bias)
        self.conv = weight_norm(conv, name="weight", dim=2)
        self.trim_last = kernel_size % 2 == 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the ``(batch, time, d_model)`` embedding of zero-padded ``x``.

        Arguments
        ---------
        x : torch.Tensor
            ``(batch, time, d_model)`` with padded frames set to zero.

        Returns
        -------
        torch.Tensor
            Positional embedding, to be added to ``x``.
        """
        y = self.conv(x.transpose(1, 2))
        if self.trim_last:
            y = y[..., :-1]
        return F.gelu(y).transpose(1, 2)
