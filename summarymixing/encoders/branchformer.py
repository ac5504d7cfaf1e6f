"""Branchformer encoder with SummaryMixing (default) or any SpeechBrain attention.

A drop-in for SpeechBrain 1.1's ``BranchformerEncoder``: same constructor keys,
same ``forward`` call, same parameter names. Each block runs a mixer branch and
a convolutional gating MLP (cgMLP) branch in parallel on the same input and
merges them with one linear layer. What differs from SpeechBrain: SummaryMixing
is the default mixer, the cgMLP zeroes padded frames before its depthwise
convolution and pads with zeros (see ``convolution.GatingUnit``), the merge
applies the two halves of its weight to the branches instead of concatenating
them, layerdrop is DDP-safe and hidden states are always ``num_layers + 1``.
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
from summarymixing.encoders.layer_stack import run_layers
from summarymixing.encoders.mixer import SUMMARY_MIXING_KEYS, apply_mixer, build_mixer
from summarymixing.encoders.validation import (
    check_kernel_size,
    check_mixer_inputs,
    check_padding_mask,
    check_src,
)


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


class BranchformerEncoder(nn.Module):
    """Branchformer encoder: SpeechBrain's keys and call, SummaryMixing by default.

    Parameters
    ----------
    num_layers : int
        Number of blocks.
    d_model : int
        Feature size.
    nhead : int
        Attention heads, or SummaryMixing's block-diagonal blocks (must divide
        ``d_model``).
    kernel_size : int
        Depthwise kernel size of the cgMLP (odd).
    kdim, vdim : int, optional
        Key and value sizes (``regularMHA``).
    activation : type of torch.nn.Module
        Activation of the cgMLP.
    dropout : float
        Dropout everywhere, including SummaryMixing's ``global_dropout``.
    attention_type : str
        ``"SummaryMixing"`` or a SpeechBrain attention: ``"regularMHA"``,
        ``"RelPosMHAXL"``, ``"RoPEMHA"``, ``"hypermixing"``.
    csgu_linear_units : int
        Hidden size of the cgMLP (even).
    gate_activation : type of torch.nn.Module
        Activation of the gate.
    use_linear_after_conv : bool
        Linear layer after the gate's convolution.
    output_hidden_states : bool
        Also return the input and every layer's output.
    layerdrop_prob : float
        Probability to skip each layer in training.
    local_proj_hid_dim, local_proj_out_dim, summary_hid_dim, summary_out_dim : optional
        SummaryMixing sizes, passed to every layer.
    mode, use_layernorm : optional
        SummaryMixing keys, passed to every layer.

    Example
    -------
    >>> encoder = BranchformerEncoder(2, 16, 2, kernel_size=3, csgu_linear_units=32)
    >>> out, attention = encoder(torch.randn(2, 9, 16))
    >>> out.shape
    torch.Size([2, 9, 16])
    """

    def __init__(
        self,
        num_layers: int,
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
        output_hidden_states: bool = False,
        layerdrop_prob: float = 0.0,
        local_proj_hid_dim: list[int] | None = None,
        local_proj_out_dim: int | None = None,
        summary_hid_dim: list[int] | None = None,
        summary_out_dim: int | None = None,
        mode: str = "SummaryMixing",
        use_layernorm: bool = True,
    ) -> None:
        super().__init__()
        values = locals()
        summary_mixing = {key: values[key] for key in SUMMARY_MIXING_KEYS}
        self.layers = nn.ModuleList(
            BranchformerEncoderLayer(
                d_model, nhead, kernel_size, kdim, vdim, activation, dropout,
                attention_type, csgu_linear_units, gate_activation,
                use_linear_after_conv, summary_mixing,
            )
            for _ in range(num_layers)
        )  # fmt: skip
        self.norm = LayerNorm(d_model, eps=1e-6)
        self.d_model = d_model
        self.attention_type = attention_type
        self.output_hidden_states = output_hidden_states
        self.layerdrop_prob = layerdrop_prob

    def forward(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor | None = None,
        src_key_padding_mask: torch.Tensor | None = None,
        pos_embs: torch.Tensor | None = None,
        dynchunktrain_config: None = None,
    ) -> tuple:
        """Encode ``src``.

        Parameters
        ----------
        src : torch.Tensor
            ``(B, T, d_model)`` input.
        src_mask : torch.Tensor, optional
            ``(T, T)`` attention mask (attention types only).
        src_key_padding_mask : torch.Tensor, optional
            ``(B, T)`` bool, True = padded frame.
        pos_embs : torch.Tensor, optional
            Positional embeddings (required by ``RelPosMHAXL``).
        dynchunktrain_config : None
            Must be None: chunked training is supported by ``ConformerEncoder``.

        Returns
        -------
        output : torch.Tensor
            ``(B, T, d_model)``, padded frames zero.
        attention : list
            Attention weights of every run layer (None for SummaryMixing).
        hidden_states : list of torch.Tensor
            Only with ``output_hidden_states``: ``num_layers + 1`` tensors.
        """
        if dynchunktrain_config is not None:
            raise ValueError(
                "BranchformerEncoder does not support dynchunktrain_config; use "
                "summarymixing.ConformerEncoder for chunked training and streaming"
            )
        check_src(src, self.d_model)
        check_padding_mask(src_key_padding_mask, src)
        check_mixer_inputs(self.attention_type, src_mask, pos_embs, None)
        padding = None
        if src_key_padding_mask is not None:
            padding = src_key_padding_mask.unsqueeze(-1)
        output, attention, hidden = run_layers(
            self.layers,
            src,
            layerdrop_prob=self.layerdrop_prob,
            output_hidden_states=self.output_hidden_states,
            padding=padding,
            src_mask=src_mask,
            src_key_padding_mask=src_key_padding_mask,
            pos_embs=pos_embs,
        )
        output = self.norm(output)
        if padding is not None:
            output = output.masked_fill(padding, 0.0)
        if self.output_hidden_states:
            return output, attention, hidden
        return output, attention
