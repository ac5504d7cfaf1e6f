"""The half-step feed-forward module of the Conformer block."""

from __future__ import annotations

import torch
from speechbrain.nnet.attention import PositionalwiseFeedForward
from torch import nn


class FeedForward(PositionalwiseFeedForward):
    """SpeechBrain's position-wise feed-forward without its two time/batch permutes.

    The network acts on each frame alone, so the permutes only cost copies.

    Example
    -------
    >>> FeedForward(16, input_size=8)(torch.randn(2, 3, 8)).shape
    torch.Size([2, 3, 8])
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the two-layer network to every frame of ``(B, T, d)`` ``x``."""
        return self.ffn(x)


def half_step_feed_forward(
    d_model: int, d_ffn: int, dropout: float, activation: type[nn.Module]
) -> nn.Sequential:
    """LayerNorm -> FFN -> dropout, named as SpeechBrain's ``ffn_module1/2``.

    Parameters
    ----------
    d_model, d_ffn : int
        Model and hidden sizes.
    dropout : float
        Dropout rate.
    activation : type of torch.nn.Module
        Hidden activation.

    Returns
    -------
    torch.nn.Sequential
        The module (the block scales its output by 0.5).

    Example
    -------
    >>> half_step_feed_forward(8, 16, 0.0, nn.SiLU)(torch.randn(1, 2, 8)).shape
    torch.Size([1, 2, 8])
    """
    return nn.Sequential(
        nn.LayerNorm(d_model),
        FeedForward(d_ffn, input_size=d_model, dropout=dropout, activation=activation),
        nn.Dropout(dropout),
    )
