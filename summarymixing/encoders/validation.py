"""Checks of encoder arguments and inputs, each failing with one clear ValueError."""

from __future__ import annotations

import torch
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig


def check_kernel_size(kernel_size: int, causal: bool = False) -> None:
    """Require a positive kernel size, odd unless the convolution is causal.

    Parameters
    ----------
    kernel_size : int
        Depthwise convolution kernel size.
    causal : bool
        Causal convolutions accept even sizes.

    Example
    -------
    >>> check_kernel_size(31)
    >>> check_kernel_size(4)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: kernel_size=4 must be odd ...
    """
    if kernel_size < 1 or (kernel_size % 2 == 0 and not causal):
        raise ValueError(
            f"kernel_size={kernel_size} must be odd (a centred convolution keeps "
            "T frames only with an odd kernel), e.g. 31; or set causal=True"
        )


def check_src(src: torch.Tensor, d_model: int) -> None:
    """Require ``src`` of shape ``(batch, time, d_model)``.

    Parameters
    ----------
    src : torch.Tensor
        Encoder input.
    d_model : int
        The encoder's feature size.

    Example
    -------
    >>> check_src(torch.zeros(2, 5, 8), 8)
    >>> check_src(torch.zeros(2, 5, 6), 8)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: src must have shape (batch, time, d_model=8), got (2, 5, 6); ...
    """
    if src.dim() != 3 or src.shape[-1] != d_model:
        raise ValueError(
            f"src must have shape (batch, time, d_model={d_model}), got "
            f"{tuple(src.shape)}; project the features to d_model first "
            "(e.g. a Linear layer)"
        )


def check_padding_mask(mask: torch.Tensor | None, src: torch.Tensor) -> None:
    """Require a bool ``(B, T)`` padding mask matching ``src`` (True = padded).

    Parameters
    ----------
    mask : torch.Tensor or None
        ``src_key_padding_mask``.
    src : torch.Tensor
        ``(B, T, d)`` encoder input.

    Example
    -------
    >>> check_padding_mask(torch.zeros(2, 5, dtype=torch.bool), torch.zeros(2, 5, 8))
    >>> mask = torch.zeros(2, 4, dtype=torch.bool)
    >>> check_padding_mask(mask, torch.zeros(2, 5, 8))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: src_key_padding_mask must be ... (2, 5) ... got shape (2, 4) ...
    """
    if mask is None:
        return
    expected = tuple(src.shape[:2])
    if tuple(mask.shape) != expected or mask.dtype != torch.bool:
        raise ValueError(
            "src_key_padding_mask must be a bool tensor of shape (batch, time) = "
            f"{expected} with True = padded frame, got shape {tuple(mask.shape)} "
            f"and dtype {mask.dtype}"
        )


def check_mixer_inputs(
    attention_type: str,
    src_mask: torch.Tensor | None,
    pos_embs: torch.Tensor | None,
    dynchunktrain_config: DynChunkTrainConfig | None,
) -> None:
    """Reject inputs the chosen mixer cannot honour.

    ``RelPosMHAXL`` needs relative positional embeddings. SummaryMixing has no
    attention matrix, so an arbitrary ``src_mask`` cannot apply; it is ignored
    only when ``dynchunktrain_config`` says the mask is the chunk mask.

    Parameters
    ----------
    attention_type : str
        The encoder's mixer.
    src_mask : torch.Tensor or None
        Attention mask given to the encoder.
    pos_embs : torch.Tensor or None
        Positional embeddings given to the encoder.
    dynchunktrain_config : DynChunkTrainConfig or None
        Chunking configuration given to the encoder.

    Example
    -------
    >>> check_mixer_inputs("SummaryMixing", None, None, None)
    >>> check_mixer_inputs("RelPosMHAXL", None, None, None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: attention_type='RelPosMHAXL' needs pos_embs ...RelPosEncXL(d_model)(src)
    """
    if attention_type == "RelPosMHAXL" and pos_embs is None:
        raise ValueError(
            "attention_type='RelPosMHAXL' needs pos_embs of shape "
            "(1, 2*T-1, d_model): build them with "
            "speechbrain.nnet.attention.RelPosEncXL(d_model)(src)"
        )
    if (
        attention_type == "SummaryMixing"
        and src_mask is not None
        and dynchunktrain_config is None
    ):
        raise ValueError(
            "attention_type='SummaryMixing' cannot apply an attention src_mask "
            "(it has no attention matrix); pass src_mask=None, or a "
            "dynchunktrain_config for chunked (streamable) summaries"
        )
