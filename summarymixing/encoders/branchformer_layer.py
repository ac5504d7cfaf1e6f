"""One Branchformer block: a mixer branch and a cgMLP branch, merged.

Same parameters and names as SpeechBrain 1.1's ``BranchformerEncoderLayer``.
The cgMLP's gating unit is padding-exact (``convolution.GatingUnit``), and the
merge applies the two halves of its weight to the branches instead of
concatenating them (no ``T x 2d`` tensor).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from speechbrain.lobes.models.transformer.Branchformer import (
    ConvolutionBranch as SpeechBrainConvolutionBranch,
)
from speechbrain.nnet.normalization import LayerNorm
from torch import nn

from summarymixing.encoders.convolution import GatingUnit
from summarymixing.encoders.mixer import apply_mixer, build_mixer
from summarymixing.encoders.validation import check_kernel_size


class ConvolutionBranch(SpeechBrainConvolutionBranch):
    """cgMLP branch: Linear -> activation -> padding-exact gating unit -> Linear.

    Keeps SpeechBrain's parameters; the gating unit is :class:`GatingUnit`.

    Example
    -------
    >>> branch = ConvolutionBranch(8, linear_units=16, kernel_size=3)
    >>> branch(torch.randn(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    """

    def __init__(
        self,
        input_size: int,
        linear_units: int = 3072,
        kernel_size: int = 31,
        activation: type[nn.Module] = nn.GELU,
        gate_activation: type[nn.Module] = nn.Identity,
        dropout: float = 0.0,
        use_linear_after_conv: bool = False,
    ) -> None:
        if linear_units < 2 or linear_units % 2 != 0:
            raise ValueError(
                f"csgu_linear_units={linear_units} must be even (the gating unit "
                "splits it in two halves), e.g. 3072"
            )
        super().__init__(
            input_size, linear_units, kernel_size, activation, gate_activation,
            dropout, use_linear_after_conv,
        )  # fmt: skip
        self.csgu = GatingUnit(
            input_size=linear_units,
            kernel_size=kernel_size,
            dropout=dropout,
            use_linear_after_conv=use_linear_after_conv,
            activation=gate_activation,
        )

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Apply the branch to ``(B, T, d)`` x; mask: ``(B, T, 1)``, True = padded."""
        return self.post_channel_proj(
            self.csgu(self.activation(self.pre_channel_proj(x)), mask)
        )


class BranchformerEncoderLayer(nn.Module):
    """One Branchformer block; arguments as in :class:`BranchformerEncoder`.

    Example
    -------
    >>> layer = BranchformerEncoderLayer(16, 2, kernel_size=3, csgu_linear_units=32)
    >>> out, attention = layer(torch.randn(2, 7, 16))
    >>> out.shape
    torch.Size([2, 7, 16])
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        kernel_size: int = 31,
        kdim: int | None = None,
        vdim: int | None = None,
        activation: type[nn.Module] = nn.GELU,
        dropout: float = 0.0,
        attention_type: str = "SummaryMixing",
        csgu_linear_units: int = 3072,
        gate_activation: type[nn.Module] = nn.Identity,
        use_linear_after_conv: bool = False,
        summary_mixing: dict | None = None,
    ) -> None:
        super().__init__()
        check_kernel_size(kernel_size)
        self.mha_layer = build_mixer(
            attention_type,
            d_model,
            nhead,
            dropout=dropout,
            kdim=kdim,
            vdim=vdim,
            hypernet_size=4 * d_model,
            summary_mixing=summary_mixing,
        )
        self.convolution_branch = ConvolutionBranch(
            d_model, csgu_linear_units, kernel_size, activation, gate_activation,
            dropout, use_linear_after_conv,
        )  # fmt: skip
        self.merge_proj = nn.Linear(2 * d_model, d_model)
        self.norm_mhsa = LayerNorm(d_model)
        self.norm_conv = LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.d_model = d_model

    def forward(
        self,
        x: torch.Tensor,
        src_mask: torch.Tensor | None = None,
        src_key_padding_mask: torch.Tensor | None = None,
        pos_embs: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Apply the block; arguments as in :meth:`BranchformerEncoder.forward`.

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
        mixed, attention = apply_mixer(
            self.mha_layer, self.norm_mhsa(x), src_mask, src_key_padding_mask, pos_embs
        )
        gated = self.convolution_branch(self.norm_conv(x), padding)
        weight_mixed = self.merge_proj.weight[:, : self.d_model]
        weight_gated = self.merge_proj.weight[:, self.d_model :]
        merged = F.linear(self.dropout(mixed), weight_mixed) + F.linear(
            self.dropout(gated), weight_gated, self.merge_proj.bias
        )
        return x + self.dropout(merged), attention
