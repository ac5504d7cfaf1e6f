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
from speechbrain.nnet.normalization import LayerNorm
from torch import nn

from summarymixing.encoders.branchformer_layer import BranchformerEncoderLayer
from summarymixing.encoders.layer_stack import encode_stack
from summarymixing.encoders.validation import (
    check_mixer_inputs,
    check_padding_mask,
    check_src,
)


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
        ``"SummaryMixing"``, ``"SDPA"`` (fused multi-head self-attention,
        :mod:`summarymixing.layers.fused_attention`) or a SpeechBrain
        attention: ``"regularMHA"``, ``"RelPosMHAXL"``, ``"RoPEMHA"``,
        ``"hypermixing"``.
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
    mode, use_layernorm, summary_dropout : optional
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
        summary_dropout: str = "utterance",
    ) -> None:
        super().__init__()
        summary_mixing = {
            "local_proj_hid_dim": local_proj_hid_dim,
            "local_proj_out_dim": local_proj_out_dim,
            "summary_hid_dim": summary_hid_dim,
            "summary_out_dim": summary_out_dim,
            "mode": mode,
            "use_layernorm": use_layernorm,
            "summary_dropout": summary_dropout,
        }
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
        return encode_stack(
            self.layers,
            self.norm,
            src,
            src_key_padding_mask,
            layerdrop_prob=self.layerdrop_prob,
            output_hidden_states=self.output_hidden_states,
            src_mask=src_mask,
            pos_embs=pos_embs,
        )
