"""One Conformer block and its streaming state.

The block is ½FFN -> LayerNorm -> mixer (+res) -> convolution (+res) -> ½FFN ->
LayerNorm, with the same parameters and names as SpeechBrain 1.1's
``ConformerEncoderLayer``. The mixer comes from ``mixer.py``; the convolution
module zeroes padded frames before its depthwise convolution
(``convolution.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from speechbrain.nnet.activations import Swish
from speechbrain.nnet.normalization import LayerNorm
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig
from torch import nn

from summarymixing.encoders.convolution import ConvolutionModule
from summarymixing.encoders.feed_forward import half_step_feed_forward
from summarymixing.encoders.mixer import apply_mixer, build_mixer
from summarymixing.encoders.validation import check_kernel_size
from summarymixing.layers.summary_mixing import SummaryMixingStreamingState


@dataclass
class ConformerLayerStreamingContext:
    """Carried state of one layer: summary state, convolution's left frames."""

    summary: SummaryMixingStreamingState
    conv_left_context: torch.Tensor | None = None


class ConformerEncoderLayer(nn.Module):
    """One Conformer block; arguments as in :class:`ConformerEncoder`.

    Example
    -------
    >>> layer = ConformerEncoderLayer(d_model=16, d_ffn=32, nhead=2, kernel_size=3)
    >>> out, attention = layer(torch.randn(2, 7, 16))
    >>> out.shape, attention
    (torch.Size([2, 7, 16]), None)
    """

    def __init__(
        self,
        d_model: int,
        d_ffn: int,
        nhead: int,
        kernel_size: int = 31,
        kdim: int | None = None,
        vdim: int | None = None,
        activation: type[nn.Module] = Swish,
        bias: bool = True,
        dropout: float = 0.0,
        causal: bool = False,
        attention_type: str = "SummaryMixing",
        summary_mixing: dict | None = None,
    ) -> None:
        super().__init__()
        check_kernel_size(kernel_size, causal)
        self.mha_layer = build_mixer(
            attention_type,
            d_model,
            nhead,
            dropout=dropout,
            kdim=kdim,
            vdim=vdim,
            causal=causal,
            hypernet_size=d_ffn,
            summary_mixing=summary_mixing,
        )
        self.convolution_module = ConvolutionModule(
            d_model, kernel_size, bias, activation, dropout, causal=causal
        )
        self.ffn_module1 = half_step_feed_forward(d_model, d_ffn, dropout, activation)
        self.ffn_module2 = half_step_feed_forward(d_model, d_ffn, dropout, activation)
        self.norm1 = LayerNorm(d_model)
        self.norm2 = LayerNorm(d_model)

    def forward(
        self,
        x: torch.Tensor,
        src_mask: torch.Tensor | None = None,
        src_key_padding_mask: torch.Tensor | None = None,
        pos_embs: torch.Tensor | None = None,
        dynchunktrain_config: DynChunkTrainConfig | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Apply the block; arguments as in :meth:`ConformerEncoder.forward`.

        Returns
        -------
        output : torch.Tensor
            ``(B, T, d_model)``.
        attention : torch.Tensor or None
            Attention weights (None for SummaryMixing).
        """
        padding = None
        if src_key_padding_mask is not None:
            padding = src_key_padding_mask.unsqueeze(-1)
        x = torch.add(x, self.ffn_module1(x), alpha=0.5)
        mixed, attention = apply_mixer(
            self.mha_layer,
            self.norm1(x),
            src_mask,
            src_key_padding_mask,
            pos_embs,
            dynchunktrain_config,
        )
        x = x + mixed
        x = x + self.convolution_module(x, padding, dynchunktrain_config)
        return self.norm2(torch.add(x, self.ffn_module2(x), alpha=0.5)), attention

    def forward_streaming(
        self, x: torch.Tensor, context: ConformerLayerStreamingContext
    ) -> torch.Tensor:
        """Apply the block to one chunk, updating ``context`` (SummaryMixing only).

        Parameters
        ----------
        x : torch.Tensor
            ``(B, C, d_model)`` chunk.
        context : ConformerLayerStreamingContext
            This layer's carried state.

        Returns
        -------
        torch.Tensor
            ``(B, C, d_model)``.
        """
        x = torch.add(x, self.ffn_module1(x), alpha=0.5)
        x = x + self.mha_layer.forward_streaming(self.norm1(x), context.summary)
        conv, context.conv_left_context = self.convolution_module.forward_streaming(
            x, context.conv_left_context
        )
        x = x + conv
        return self.norm2(torch.add(x, self.ffn_module2(x), alpha=0.5))
