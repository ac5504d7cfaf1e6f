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


class SinusoidalPositionalEncoding(nn.Module):
    """Fixed sinusoidal absolute positions (SpeechBrain's ``PositionalEncoding``).

    SpeechBrain's wav2vec 2.0 ``EncoderWrapper`` adds these instead of a
    learned convolution, which is what the SummaryMixing SSL recipe built on;
    nothing is learned, so the input cannot be drowned by a wide smoothing
    filter. Positions are absolute from each utterance's first frame, so
    padding at the end changes nothing.

    Arguments
    ---------
    d_model : int
        Channels.
    max_frames : int
        Longest utterance in frames (10000 = 200 s at 20 ms).

    Example
    -------
    >>> position = SinusoidalPositionalEncoding(8)
    >>> position(torch.zeros(2, 5, 8)).shape
    torch.Size([1, 5, 8])
    """

    def __init__(self, d_model: int, max_frames: int = 10000):
        super().__init__()
        from speechbrain.lobes.models.transformer.Transformer import (
            PositionalEncoding,
        )

        self.encoding = PositionalEncoding(d_model, max_len=max_frames)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``(1, time, d_model)`` encodings to add to ``x``."""
        return self.encoding(x).to(x.dtype)


class NoPositionalEncoding(nn.Module):
    """No positional information (the Conformer's convolutions give order).

    Example
    -------
    >>> NoPositionalEncoding()(torch.ones(1, 3, 2)).sum().item()
    0.0
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return zeros to add to ``x``."""
        return torch.zeros_like(x)


POSITIONAL_ENCODINGS = ("conv", "sinusoidal", "none")


def make_positional_encoding(kind: str, d_model: int) -> nn.Module:
    """Build the positional encoding named ``kind`` (a YAML-friendly switch).

    Arguments
    ---------
    kind : str
        ``conv`` (wav2vec 2.0's learned convolution), ``sinusoidal`` (fixed,
        SpeechBrain's wav2vec 2.0 wrapper) or ``none``.
    d_model : int
        Channels.

    Returns
    -------
    torch.nn.Module
        Maps ``(batch, time, d_model)`` to what is added to it.

    Example
    -------
    >>> type(make_positional_encoding("none", 8)).__name__
    'NoPositionalEncoding'
    >>> make_positional_encoding("learned", 8)
    Traceback (most recent call last):
    ...
    ValueError: positional_encoding='learned' is unknown; accepted values: conv, sinusoidal, none
    """  # noqa: E501
    if kind == "conv":
        return ConvPositionalEmbedding(d_model)
    if kind == "sinusoidal":
        return SinusoidalPositionalEncoding(d_model)
    if kind == "none":
        return NoPositionalEncoding()
    raise ValueError(
        f"positional_encoding={kind!r} is unknown; accepted values: "
        f"{', '.join(POSITIONAL_ENCODINGS)}"
    )
