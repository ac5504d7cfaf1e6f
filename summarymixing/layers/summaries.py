"""Padding-exact summaries: the mean over time, per chunk, and while streaming.

All three give, for every frame, the mean of the summary vectors ``s(x)`` over
the real (non-padded) frames that frame may see:

* ``utterance_mean``: the whole utterance (one summary per utterance);
* ``chunked_mean``: its own chunk and ``left_chunks`` chunks before it
  (dynamic chunk training), computed in O(T) from per-chunk sums and a cumulative
  sum over chunks instead of the published T x T mask product;
* ``SummaryMixingStreamingState``: the same as ``chunked_mean``, one chunk at a
  time, carrying a running sum and count (unlimited left context) or the last
  chunks' sums.

Sums are accumulated in float32 even under autocast so that long utterances do
not lose precision in half precision.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import torch


def keep_weights(
    src_key_padding_mask: torch.Tensor | None, x: torch.Tensor
) -> torch.Tensor | None:
    """Turn a padding mask (True = padded) into float weights (1 = real frame).

    Parameters
    ----------
    src_key_padding_mask : torch.Tensor or None
        Boolean ``(B, T)`` mask, True where the frame is padding.
    x : torch.Tensor
        The ``(B, T, D)`` input the mask belongs to (gives shape and dtype).

    Returns
    -------
    torch.Tensor or None
        ``(B, T)`` float32 weights, or None when there is no mask.

    Example
    -------
    >>> mask = torch.tensor([[False, False, True]])
    >>> keep_weights(mask, torch.zeros(1, 3, 4))
    tensor([[1., 1., 0.]])
    """
    if src_key_padding_mask is None:
        return None
    expected = tuple(x.shape[:2])
    if tuple(src_key_padding_mask.shape) != expected:
        raise ValueError(
            f"src_key_padding_mask has shape {tuple(src_key_padding_mask.shape)} "
            f"but the input needs (batch, time) = {expected}"
        )
    if src_key_padding_mask.dtype != torch.bool:
        raise ValueError(
            "src_key_padding_mask must be a bool tensor with True = padded frame "
            f"(got dtype {src_key_padding_mask.dtype}); build it with "
            "speechbrain.dataio.dataio.make_padding_mask(...) == 0 or "
            "torch.arange(T)[None] >= lengths[:, None]"
        )
    return (~src_key_padding_mask).to(torch.float32)


def utterance_mean(summary: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """Mean of ``summary`` over the real frames of each utterance.

    Parameters
    ----------
    summary : torch.Tensor
        ``(B, T, D)`` per-frame summary vectors.
    keep : torch.Tensor or None
        ``(B, T)`` float weights, 1 for real frames (None = no padding).

    Returns
    -------
    torch.Tensor
        ``(B, 1, D)`` means; an utterance with no real frame gets zeros.

    Example
    -------
    >>> s = torch.tensor([[[1.0], [3.0], [100.0]]])
    >>> utterance_mean(s, torch.tensor([[1.0, 1.0, 0.0]])).flatten()
    tensor([2.])
    """
    if keep is None:
        return summary.float().mean(dim=1, keepdim=True).to(summary.dtype)
    # (B, 1, T) @ (B, T, D): a weighted sum without materialising s * keep.
    total = torch.bmm(keep.unsqueeze(1), summary.float())
    count = keep.sum(dim=1).clamp(min=1.0).view(-1, 1, 1)
    return (total / count).to(summary.dtype)


def chunk_sums(
    summary: torch.Tensor, keep: torch.Tensor | None, chunk_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of real-frame summaries and real-frame counts per chunk.

    Parameters
    ----------
    summary : torch.Tensor
        ``(B, T, D)`` per-frame summary vectors.
    keep : torch.Tensor or None
        ``(B, T)`` float weights, 1 for real frames.
    chunk_size : int
        Frames per chunk; the last chunk may be shorter.

    Returns
    -------
    sums : torch.Tensor
        ``(B, N, D)`` float32, N = ceil(T / chunk_size).
    counts : torch.Tensor
        ``(B, N)`` float32.

    Example
    -------
    >>> sums, counts = chunk_sums(torch.ones(1, 5, 2), None, chunk_size=2)
    >>> sums[0, :, 0].tolist(), counts[0].tolist()
    ([2.0, 2.0, 1.0], [2.0, 2.0, 1.0])
    """
    batch, frames, dim = summary.shape
    if keep is None:
        keep = summary.new_ones(batch, frames, dtype=torch.float32)
    num_chunks = -(-frames // chunk_size)
    pad = num_chunks * chunk_size - frames
    weighted = summary.float() * keep.unsqueeze(-1)
    if pad:
        weighted = torch.nn.functional.pad(weighted, (0, 0, 0, pad))
        keep = torch.nn.functional.pad(keep, (0, pad))
    sums = weighted.view(batch, num_chunks, chunk_size, dim).sum(dim=2)
    counts = keep.view(batch, num_chunks, chunk_size).sum(dim=2)
    return sums, counts


def chunked_mean(
    summary: torch.Tensor,
    keep: torch.Tensor | None,
    chunk_size: int,
    left_chunks: int | None,
) -> torch.Tensor:
    """Per-chunk mean over the chunk itself and ``left_chunks`` chunks before it.

    Parameters
    ----------
    summary : torch.Tensor
        ``(B, T, D)`` per-frame summary vectors.
    keep : torch.Tensor or None
        ``(B, T)`` float weights, 1 for real frames.
    chunk_size : int
        Frames per chunk (> 0).
    left_chunks : int or None
        Number of previous chunks visible (>= 0); None = all previous chunks.

    Returns
    -------
    torch.Tensor
        ``(B, N, D)`` one mean per chunk (N = ceil(T / chunk_size)), in the
        dtype of ``summary``; a window without real frames gives zeros.

    Example
    -------
    >>> s = torch.arange(6.0).view(1, 6, 1)
    >>> chunked_mean(s, None, chunk_size=2, left_chunks=None).flatten().tolist()
    [0.5, 1.5, 2.5]
    >>> chunked_mean(s, None, chunk_size=2, left_chunks=0).flatten().tolist()
    [0.5, 2.5, 4.5]
    """
    if chunk_size <= 0:
        raise ValueError(
            f"chunk_size must be a positive number of frames, got {chunk_size}"
        )
    if left_chunks is not None and left_chunks < 0:
        raise ValueError(
            f"left_chunks must be >= 0 or None (unlimited), got {left_chunks}"
        )
    sums, counts = chunk_sums(summary, keep, chunk_size)
    window_sums = torch.cumsum(sums, dim=1)
    window_counts = torch.cumsum(counts, dim=1)
    if left_chunks is not None and left_chunks + 1 < sums.shape[1]:
        # window [c - L, c] = cumsum[c] - cumsum[c - L - 1]
        shift = left_chunks + 1
        window_sums = window_sums - _shift_right(window_sums, shift)
        window_counts = window_counts - _shift_right(window_counts, shift)
    means = window_sums / window_counts.clamp(min=1.0).unsqueeze(-1)
    return means.to(summary.dtype)


def _shift_right(values: torch.Tensor, shift: int) -> torch.Tensor:
    """Delay ``values`` by ``shift`` steps along dim 1, filling with zeros."""
    delayed = torch.zeros_like(values)
    delayed[:, shift:] = values[:, :-shift]
    return delayed


def expand_chunks(
    per_chunk: torch.Tensor, frames: int, chunk_size: int
) -> torch.Tensor:
    """Give every frame the value of its chunk: ``(B, N, D)`` -> ``(B, T, D)``.

    Example
    -------
    >>> v = torch.tensor([[[1.0], [2.0]]])
    >>> expand_chunks(v, frames=3, chunk_size=2).flatten().tolist()
    [1.0, 1.0, 2.0]
    """
    return per_chunk.repeat_interleave(chunk_size, dim=1)[:, :frames]


@dataclass
class SummaryMixingStreamingState:
    """Carried state of one layer's summary when streaming chunk by chunk.

    Parameters
    ----------
    left_chunks : int or None
        Previous chunks visible to a chunk; None = unlimited, in which case only
        a running sum and count are kept.

    Example
    -------
    >>> state = SummaryMixingStreamingState(left_chunks=None)
    >>> state.update_and_mean(torch.ones(1, 2, 3), None).shape
    torch.Size([1, 1, 3])
    >>> state.count.tolist()
    [2.0]
    """

    left_chunks: int | None = None
    total: torch.Tensor | None = None
    count: torch.Tensor | None = None
    recent: deque = field(default_factory=deque)

    def update_and_mean(
        self, summary: torch.Tensor, keep: torch.Tensor | None
    ) -> torch.Tensor:
        """Add one chunk's frames and return the mean this chunk sees.

        Parameters
        ----------
        summary : torch.Tensor
            ``(B, C, D)`` summary vectors of the chunk's frames.
        keep : torch.Tensor or None
            ``(B, C)`` float weights, 1 for real frames.

        Returns
        -------
        torch.Tensor
            ``(B, 1, D)`` mean over the visible window.
        """
        chunk_total, chunk_count = chunk_sums(summary, keep, summary.shape[1])
        chunk_total, chunk_count = chunk_total[:, 0], chunk_count[:, 0]
        if self.left_chunks is None:
            if self.total is None:
                self.total, self.count = chunk_total, chunk_count
            else:
                self.total = self.total + chunk_total
                self.count = self.count + chunk_count
            window_total, window_count = self.total, self.count
        else:
            window_total = chunk_total + sum((t for t, _ in self.recent), 0.0)
            window_count = chunk_count + sum((c for _, c in self.recent), 0.0)
            if self.left_chunks > 0:
                self.recent.append((chunk_total, chunk_count))
                while len(self.recent) > self.left_chunks:
                    self.recent.popleft()
        mean = window_total / window_count.clamp(min=1.0).unsqueeze(-1)
        return mean.unsqueeze(1).to(summary.dtype)
