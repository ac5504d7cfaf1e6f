"""Multi-head self-attention through PyTorch's fused kernels: the fair baseline.

SpeechBrain's ``regularMHA`` (``speechbrain.nnet.attention.MultiheadAttention``)
returns the attention weights on every call, which makes PyTorch materialise
the ``T x T`` matrix per head: memory quadratic in the length and no fused
kernel. An engineer choosing an encoder today compares with
``torch.nn.functional.scaled_dot_product_attention`` instead (flash and
memory-efficient kernels on GPU, memory linear in ``T``), so that is the
attention baseline our benchmarks must include. We write it here rather than
use ``nn.MultiheadAttention(need_weights=False)`` because the encoders need
two things it does not give: a combined key-padding and chunk mask in which
no row is empty (a padding-only chunk would otherwise produce NaN, and NaN
times a zero gradient is still NaN in the backward pass), and weights
computed only when a caller asks for them.

The mixing is standard scaled dot-product attention,
``softmax(Q K^T / sqrt(d_head) + mask) V`` per head, with one input
projection to ``Q, K, V`` and one output projection.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional


class FusedSelfAttention(nn.Module):
    """Self-attention through ``scaled_dot_product_attention``.

    Parameters
    ----------
    d_model : int
        Feature size.
    nhead : int
        Heads; must divide ``d_model``.
    dropout : float
        Dropout on the attention probabilities (training only).

    Example
    -------
    >>> attention = FusedSelfAttention(16, 2)
    >>> x = torch.randn(2, 5, 16)
    >>> padded = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    >>> out, weights = attention(x, key_padding_mask=padded)
    >>> out.shape, weights
    (torch.Size([2, 5, 16]), None)
    >>> _, weights = attention(x, key_padding_mask=padded, need_weights=True)
    >>> weights.shape, float(weights[1, :, 3:].abs().max())
    (torch.Size([2, 5, 5]), 0.0)
    """

    def __init__(self, d_model: int, nhead: int, dropout: float = 0.0) -> None:
        super().__init__()
        if nhead < 1 or d_model % nhead:
            raise ValueError(f"nhead={nhead} must divide d_model={d_model}")
        self.nhead = nhead
        self.dropout = dropout
        self.in_proj = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(
        self,
        x: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
        attn_mask: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend over the frames of ``x``.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, T, d_model)``.
        key_padding_mask : torch.Tensor, optional
            ``(B, T)`` bool, True = padded frame (never attended to).
        attn_mask : torch.Tensor, optional
            ``(T, T)`` bool, True = not allowed (SpeechBrain's and
            ``nn.MultiheadAttention``'s convention), e.g. a chunk mask.
        need_weights : bool
            Also return the head-averaged weights ``(B, T, T)``; this takes
            the unfused path (the matrix is built), so only ask when needed.

        Returns
        -------
        output : torch.Tensor
            ``(B, T, d_model)``; padded query frames hold no meaning (the
            encoders zero them).
        weights : torch.Tensor or None
            Only with ``need_weights``.
        """
        batch, frames, d_model = x.shape
        q, k, v = (
            self.in_proj(x)
            .view(batch, frames, 3, self.nhead, d_model // self.nhead)
            .permute(2, 0, 3, 1, 4)
        )
        allowed = allowed_keys(key_padding_mask, attn_mask, batch, frames, x.device)
        dropout = self.dropout if self.training else 0.0
        if need_weights:
            scores = q @ k.transpose(-1, -2) / (q.shape[-1] ** 0.5)
            if allowed is not None:
                scores = scores.masked_fill(~allowed, float("-inf"))
            weights = functional.dropout(scores.softmax(-1), dropout, self.training)
            mixed = weights @ v
            averaged = weights.mean(dim=1)
        else:
            mixed = functional.scaled_dot_product_attention(
                q, k, v, attn_mask=allowed, dropout_p=dropout
            )
            averaged = None
        mixed = mixed.transpose(1, 2).reshape(batch, frames, d_model)
        return self.out_proj(mixed), averaged


def allowed_keys(
    key_padding_mask: torch.Tensor | None,
    attn_mask: torch.Tensor | None,
    batch: int,
    frames: int,
    device: torch.device,
) -> torch.Tensor | None:
    """Which keys each query may attend to, ``(B, 1, T, T)`` bool, no empty row.

    A query row with no allowed key (a padded frame in a padding-only chunk)
    may attend to every key instead: its output is discarded, and it keeps the
    softmax finite so that no NaN reaches the backward pass.

    Example
    -------
    >>> padded = torch.tensor([[False, True]])
    >>> allowed_keys(padded, None, 1, 2, torch.device("cpu"))[0, 0]
    tensor([[ True, False],
            [ True, False]])
    >>> allowed_keys(None, None, 1, 2, torch.device("cpu")) is None
    True
    """
    if key_padding_mask is None and attn_mask is None:
        return None
    allowed = torch.ones(batch, 1, frames, frames, dtype=torch.bool, device=device)
    if key_padding_mask is not None:
        allowed = allowed & ~key_padding_mask.bool()[:, None, None, :]
    if attn_mask is not None:
        if attn_mask.dtype != torch.bool:
            raise ValueError(
                "attention_type='SDPA' takes a bool attn_mask (True = not allowed), "
                f"not {attn_mask.dtype}"
            )
        allowed = allowed & ~attn_mask
    empty = ~allowed.any(dim=-1, keepdim=True)
    return allowed | empty
