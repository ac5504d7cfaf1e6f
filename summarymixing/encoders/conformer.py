"""Conformer encoder with SummaryMixing (default) or any SpeechBrain attention.

A drop-in for SpeechBrain 1.1's ``ConformerEncoder``: same constructor keys,
same ``forward`` call and results, same parameter names (a SpeechBrain
attention checkpoint loads as is), so a YAML switches by its ``!new:`` target.
Each block is ½FFN -> LayerNorm -> mixer (+res) -> convolution (+res) -> ½FFN ->
LayerNorm. What differs from SpeechBrain: the default mixer is SummaryMixing
(its keys pass through), padded frames never reach real ones (the convolution
zeroes them first, see ``convolution.py``), layerdrop is DDP-safe and hidden
states are always ``num_layers + 1`` (see ``layer_stack.py``), padded output
frames are zero, and streaming inference works with SummaryMixing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from speechbrain.lobes.models.transformer.TransformerASR import (
    make_transformer_src_mask,
)
from speechbrain.nnet.activations import Swish
from speechbrain.nnet.normalization import LayerNorm
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig
from torch import nn

from summarymixing.encoders.conformer_layer import (
    ConformerEncoderLayer,
    ConformerLayerStreamingContext,
)
from summarymixing.encoders.layer_stack import encode_stack
from summarymixing.encoders.validation import (
    check_mixer_inputs,
    check_padding_mask,
    check_src,
)


@dataclass
class ConformerStreamingContext:
    """Carried state of the encoder for :meth:`ConformerEncoder.forward_streaming`."""

    dynchunktrain_config: DynChunkTrainConfig
    layers: list[ConformerLayerStreamingContext] = field(default_factory=list)


class ConformerEncoder(nn.Module):
    """Conformer encoder: SpeechBrain's constructor and call, SummaryMixing by default.

    Parameters
    ----------
    num_layers : int
        Number of blocks.
    d_model : int
        Feature size.
    d_ffn : int
        Hidden size of the feed-forward modules.
    nhead : int
        Attention heads, or SummaryMixing's block-diagonal blocks (must divide
        ``d_model``).
    kernel_size : int
        Depthwise convolution kernel size (odd unless ``causal``).
    kdim, vdim : int, optional
        Key and value sizes (``regularMHA``).
    activation : type of torch.nn.Module
        Activation of the feed-forward and convolution modules.
    bias : bool
        Biases in the convolution module.
    dropout : float
        Dropout everywhere, including SummaryMixing's ``global_dropout``.
    causal : bool
        Causal convolutions (and positional masking in ``RelPosMHAXL``).
    attention_type : str
        ``"SummaryMixing"``, ``"SDPA"`` (fused multi-head self-attention,
        :mod:`summarymixing.layers.fused_attention`) or a SpeechBrain
        attention: ``"regularMHA"``, ``"RelPosMHAXL"``, ``"RoPEMHA"``,
        ``"hypermixing"``.
    output_hidden_states : bool
        Also return the input and every layer's output.
    layerdrop_prob : float
        Probability to skip each layer in training.
    local_proj_hid_dim, local_proj_out_dim, summary_hid_dim, summary_out_dim : optional
        SummaryMixing sizes, passed to every layer.
    mode, use_layernorm, summary_dropout : optional
        SummaryMixing keys, passed to every layer (see
        :class:`summarymixing.layers.summary_mixing.SummaryMixing`).

    Example
    -------
    >>> encoder = ConformerEncoder(2, d_model=16, d_ffn=32, nhead=2, kernel_size=3)
    >>> x = torch.randn(2, 9, 16)
    >>> mask = torch.arange(9)[None] >= torch.tensor([[9], [6]])
    >>> out, attention = encoder(x, src_key_padding_mask=mask)
    >>> out.shape, len(attention)
    (torch.Size([2, 9, 16]), 2)
    """

    def __init__(
        self,
        num_layers: int,
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
            ConformerEncoderLayer(
                d_model, d_ffn, nhead, kernel_size, kdim, vdim, activation, bias,
                dropout, causal, attention_type, summary_mixing,
            )
            for _ in range(num_layers)
        )  # fmt: skip
        self.norm = LayerNorm(d_model, eps=1e-6)
        self.d_model = d_model
        self.causal = causal
        self.attention_type = attention_type
        self.output_hidden_states = output_hidden_states
        self.layerdrop_prob = layerdrop_prob

    def forward(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor | None = None,
        src_key_padding_mask: torch.Tensor | None = None,
        pos_embs: torch.Tensor | None = None,
        dynchunktrain_config: DynChunkTrainConfig | None = None,
    ) -> tuple:
        """Encode ``src``.

        Parameters
        ----------
        src : torch.Tensor
            ``(B, T, d_model)`` input.
        src_mask : torch.Tensor, optional
            ``(T, T)`` attention mask (attention types only). With
            ``dynchunktrain_config`` and no ``src_mask``, the chunk mask is built.
        src_key_padding_mask : torch.Tensor, optional
            ``(B, T)`` bool, True = padded frame.
        pos_embs : torch.Tensor, optional
            Positional embeddings (required by ``RelPosMHAXL``).
        dynchunktrain_config : DynChunkTrainConfig, optional
            Chunked mixer and Dynamic Chunk Convolution.

        Returns
        -------
        output : torch.Tensor
            ``(B, T, d_model)``, padded frames zero.
        attention : list
            Attention weights of every run layer (None for SummaryMixing).
        hidden_states : list of torch.Tensor
            Only with ``output_hidden_states``: ``num_layers + 1`` tensors.
        """
        check_src(src, self.d_model)
        check_padding_mask(src_key_padding_mask, src)
        check_mixer_inputs(
            self.attention_type, src_mask, pos_embs, dynchunktrain_config
        )
        if dynchunktrain_config is not None:
            if self.causal:
                raise ValueError(
                    "dynchunktrain_config needs causal=False: the chunked "
                    "convolution already hides the future beyond each chunk"
                )
            if self.attention_type != "SummaryMixing" and src_mask is None:
                src_mask = make_transformer_src_mask(
                    src, dynchunktrain_config=dynchunktrain_config
                )
        return encode_stack(
            self.layers,
            self.norm,
            src,
            src_key_padding_mask,
            layerdrop_prob=self.layerdrop_prob,
            output_hidden_states=self.output_hidden_states,
            src_mask=src_mask,
            pos_embs=pos_embs,
            dynchunktrain_config=dynchunktrain_config,
        )

    def make_streaming_context(
        self, dynchunktrain_config: DynChunkTrainConfig
    ) -> ConformerStreamingContext:
        """Create the carried state for :meth:`forward_streaming`.

        Parameters
        ----------
        dynchunktrain_config : DynChunkTrainConfig
            Chunk size and left context (chunks; None = unlimited) of the stream.

        Returns
        -------
        ConformerStreamingContext
            Empty state for one stream.

        Example
        -------
        >>> encoder = ConformerEncoder(2, 16, 32, 2, kernel_size=3).eval()
        >>> config = DynChunkTrainConfig(chunk_size=4, left_context_size=None)
        >>> x = torch.randn(1, 10, 16)
        >>> context = encoder.make_streaming_context(config)
        >>> chunks = [encoder.forward_streaming(c, context) for c in x.split(4, dim=1)]
        >>> offline, _ = encoder(x, dynchunktrain_config=config)
        >>> torch.allclose(torch.cat(chunks, dim=1), offline, atol=1e-5)
        True
        """
        if self.attention_type != "SummaryMixing" or self.causal:
            raise ValueError(
                "streaming inference needs attention_type='SummaryMixing' and "
                f"causal=False (this encoder: attention_type={self.attention_type!r}, "
                f"causal={self.causal}); for attention, use SpeechBrain's "
                "ConformerEncoder.forward_streaming"
            )
        left_chunks = dynchunktrain_config.left_context_size
        return ConformerStreamingContext(
            dynchunktrain_config,
            [
                ConformerLayerStreamingContext(
                    layer.mha_layer.make_streaming_state(left_chunks)
                )
                for layer in self.layers
            ],
        )

    def forward_streaming(
        self, src: torch.Tensor, context: ConformerStreamingContext
    ) -> torch.Tensor:
        """Encode one chunk of a stream; equals the chunked offline forward.

        Parameters
        ----------
        src : torch.Tensor
            ``(B, C, d_model)`` chunk, ``C <= chunk_size`` (shorter only last).
        context : ConformerStreamingContext
            From :meth:`make_streaming_context`, mutated in place.

        Returns
        -------
        torch.Tensor
            ``(B, C, d_model)`` encoded chunk.
        """
        check_src(src, self.d_model)
        chunk_size = context.dynchunktrain_config.chunk_size
        if src.shape[1] > chunk_size:
            raise ValueError(
                f"src has {src.shape[1]} frames but the stream's chunk_size is "
                f"{chunk_size}; split the input with src.split({chunk_size}, dim=1)"
            )
        output = src
        for layer, layer_context in zip(self.layers, context.layers, strict=True):
            output = layer.forward_streaming(output, layer_context)
        return self.norm(output)
