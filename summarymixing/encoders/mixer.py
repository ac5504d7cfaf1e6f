"""The token mixer of an encoder block: SummaryMixing or an attention.

One factory builds every mixer an encoder accepts, so that the same encoder class
builds the SummaryMixing model and its attention baselines, and one function
calls them, hiding that SummaryMixing (and our fused ``SDPA`` attention) take a
single input while SpeechBrain's attentions take ``(query, key, value)``.
Unlike SpeechBrain's encoders, an unknown ``attention_type`` is an error
rather than a layer silently built without mixer.
"""

from __future__ import annotations

from typing import Any

import torch
from speechbrain.nnet.attention import MultiheadAttention, RelPosMHAXL, RoPEMHA
from speechbrain.nnet.hypermixing import HyperMixing
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig
from torch import nn

from summarymixing.layers.fused_attention import FusedSelfAttention
from summarymixing.layers.summary_mixing import SummaryMixing

ATTENTION_TYPES = (
    "SummaryMixing",
    "regularMHA",
    "RelPosMHAXL",
    "RoPEMHA",
    "SDPA",
    "hypermixing",
)


def check_attention_type(attention_type: str) -> None:
    """Raise a ValueError unless ``attention_type`` names a mixer we can build.

    Parameters
    ----------
    attention_type : str
        The requested mixer.

    Example
    -------
    >>> check_attention_type("regularMHA")
    >>> check_attention_type("MHA")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: attention_type='MHA' is unknown; accepted values: ('SummaryMixing', ...)
    """
    if attention_type not in ATTENTION_TYPES:
        raise ValueError(
            f"attention_type={attention_type!r} is unknown; "
            f"accepted values: {ATTENTION_TYPES}"
        )


def check_heads(d_model: int, nhead: int) -> None:
    """Raise a ValueError unless ``nhead`` is positive and divides ``d_model``.

    Parameters
    ----------
    d_model : int
        Feature size of the encoder.
    nhead : int
        Number of heads (attention heads or SummaryMixing blocks).

    Example
    -------
    >>> check_heads(512, 8)
    >>> check_heads(100, 8)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: nhead=8 must be a positive divisor of d_model=100 ... [1, 2, 4, 5, ...]
    """
    if nhead < 1 or d_model % nhead != 0:
        divisors = [n for n in range(1, d_model + 1) if d_model % n == 0]
        raise ValueError(
            f"nhead={nhead} must be a positive divisor of d_model={d_model} "
            f"(each head gets d_model / nhead features); e.g. nhead in {divisors}"
        )


def build_mixer(
    attention_type: str,
    d_model: int,
    nhead: int,
    *,
    dropout: float = 0.0,
    kdim: int | None = None,
    vdim: int | None = None,
    causal: bool = False,
    hypernet_size: int | None = None,
    summary_mixing: dict[str, Any] | None = None,
) -> nn.Module:
    """Build the mixer named ``attention_type``.

    The attention modules are built exactly as SpeechBrain 1.1's Conformer
    builds them, so that a baseline made with our encoders is SpeechBrain's model.

    Parameters
    ----------
    attention_type : str
        One of ``ATTENTION_TYPES``.
    d_model : int
        Feature size.
    nhead : int
        Attention heads, or SummaryMixing's block-diagonal blocks.
    dropout : float
        Attention dropout, or SummaryMixing's ``global_dropout``.
    kdim, vdim : int, optional
        Key and value sizes of ``regularMHA``.
    causal : bool
        Mask future positions in ``RelPosMHAXL``'s positional term.
    hypernet_size : int, optional
        Hidden size of ``hypermixing``'s hyper-network (default ``4 * d_model``).
    summary_mixing : dict, optional
        Keyword arguments of :class:`~summarymixing.layers.summary_mixing.
        SummaryMixing` passed to the layer (the encoders pass their
        ``local_proj_*``, ``summary_*``, ``mode``, ``use_layernorm`` and
        ``summary_dropout``).

    Returns
    -------
    torch.nn.Module
        The mixer.

    Example
    -------
    >>> lite = {"mode": "SummaryMixing-lite"}
    >>> mixer = build_mixer("SummaryMixing", 16, 2, summary_mixing=lite)
    >>> mixer.mode
    'SummaryMixing-lite'
    """
    check_attention_type(attention_type)
    check_heads(d_model, nhead)
    if attention_type == "SummaryMixing":
        return SummaryMixing(
            enc_dim=d_model,
            nhead=nhead,
            global_dropout=dropout,
            **(summary_mixing or {}),
        )
    if attention_type == "regularMHA":
        return MultiheadAttention(
            nhead=nhead, d_model=d_model, dropout=dropout, kdim=kdim, vdim=vdim
        )
    if attention_type == "RelPosMHAXL":
        return RelPosMHAXL(
            num_heads=nhead, embed_dim=d_model, dropout=dropout, mask_pos_future=causal
        )
    if attention_type == "RoPEMHA":
        return RoPEMHA(num_heads=nhead, embed_dim=d_model, dropout=dropout)
    if attention_type == "SDPA":
        return FusedSelfAttention(d_model, nhead, dropout=dropout)
    return HyperMixing(
        input_output_dim=d_model,
        hypernet_size=hypernet_size or 4 * d_model,
        tied=False,
        num_heads=nhead,
        fix_tm_hidden_size=False,
    )


def apply_mixer(
    mixer: nn.Module,
    x: torch.Tensor,
    src_mask: torch.Tensor | None = None,
    src_key_padding_mask: torch.Tensor | None = None,
    pos_embs: torch.Tensor | None = None,
    dynchunktrain_config: DynChunkTrainConfig | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Mix the frames of ``x``; returns ``(output, attention weights or None)``.

    Parameters
    ----------
    mixer : torch.nn.Module
        A module from :func:`build_mixer`.
    x : torch.Tensor
        ``(B, T, d)`` input.
    src_mask : torch.Tensor, optional
        ``(T, T)`` attention mask (attention only; SummaryMixing is chunked
        by ``dynchunktrain_config`` instead).
    src_key_padding_mask : torch.Tensor, optional
        ``(B, T)`` bool, True = padded frame.
    pos_embs : torch.Tensor, optional
        Positional embeddings for the attention.
    dynchunktrain_config : DynChunkTrainConfig, optional
        Chunked summaries (SummaryMixing only).

    Returns
    -------
    output : torch.Tensor
        ``(B, T, d)``.
    attention : torch.Tensor or None
        Attention weights; None for SummaryMixing and ``SDPA`` (fused kernels
        never build them; call the module with ``need_weights=True`` for them).

    Padded output frames are zero for every mixer.

    Example
    -------
    >>> mixer = build_mixer("regularMHA", 8, 2)
    >>> out, attention = apply_mixer(mixer, torch.randn(1, 3, 8))
    >>> out.shape, attention.shape
    (torch.Size([1, 3, 8]), torch.Size([1, 3, 3]))
    """
    if isinstance(mixer, SummaryMixing):
        mixed = mixer(
            x,
            src_key_padding_mask=src_key_padding_mask,
            dynchunktrain_config=dynchunktrain_config,
        )
        return mixed, None
    if isinstance(mixer, FusedSelfAttention):
        mixed, attention = mixer(
            x, key_padding_mask=src_key_padding_mask, attn_mask=src_mask
        )
    else:
        mixed, attention = mixer(
            x,
            x,
            x,
            attn_mask=src_mask,
            key_padding_mask=src_key_padding_mask,
            pos_embs=pos_embs,
        )
    if src_key_padding_mask is not None:
        # A padded query whose allowed keys are all padding (a padding-only
        # chunk) gets NaN from the softmax; as a value in the next layer, NaN
        # times a zero attention weight would still poison real frames.
        mixed = mixed.masked_fill(src_key_padding_mask.unsqueeze(-1), 0.0)
    return mixed, attention
