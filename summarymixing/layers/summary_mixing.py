"""SummaryMixing: a linear-time drop-in for multi-head self-attention.

For frames ``x_1..x_T`` with padding excluded, the layer computes
``s_bar = mean_t s(x_t)`` and ``h_t = c([f(x_t); s_bar])`` where ``f`` (local) and
``s`` (summary) are MLPs and ``c`` is one linear layer with an activation.

Why our own implementation rather than the published one:

* padding-exact: the summary averages real frames only, with SpeechBrain's mask
  convention (``src_key_padding_mask`` True = padded), so a padded batch gives
  the same outputs as each utterance alone;
* fast: ``c``'s weight is split into a local half and a summary half, so that
  ``W [f; s_bar] = W_f f(x_t) + W_s s_bar`` with ``W_s s_bar`` computed once per
  utterance (or once per chunk) and broadcast over time; no ``repeat`` of the
  summary and no ``T x 2d`` concatenation;
* chunked summaries for dynamic chunk training in O(T) time and memory, and a
  streaming path with carried state that equals the chunked computation.

Training-mode note: by default (``summary_dropout="utterance"``) dropout is
applied to ``f(x_t)`` per frame and to ``s_bar`` once per utterance (or chunk);
the plain formula, and the published code, draw a fresh dropout mask for every
frame's copy of ``s_bar``, which costs a ``T x d`` product and removes the
saving. ``summary_dropout="frame"`` does that (for the ablation that compares
the two). Evaluation outputs are identical to the plain formula either way.
"""

from __future__ import annotations

import torch
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig
from torch import nn

from summarymixing.layers.grouped_linear import check_divisible, grouped_mlp
from summarymixing.layers.summaries import (
    SummaryMixingStreamingState,
    chunked_mean,
    expand_chunks,
    keep_weights,
    utterance_mean,
)
from summarymixing.padding import zero_padding

MODES = ("SummaryMixing", "SummaryMixing-lite", "SummaryMixing-fast")
SUMMARY_DROPOUT = ("utterance", "frame")


class SummaryMixing(nn.Module):
    """SummaryMixing layer (full, lite or fast), padding-exact and linear in time.

    Parameters
    ----------
    enc_dim : int
        Input and output feature size.
    nhead : int
        Number of diagonal blocks of every linear layer of ``f`` and ``s``
        (block-diagonal when > 1); must divide every one of their sizes.
    local_proj_hid_dim : list of int, optional
        Hidden sizes of the local MLP ``f`` (default ``[enc_dim]``).
    local_proj_out_dim : int, optional
        Output size of ``f`` (default ``enc_dim``).
    summary_hid_dim : list of int, optional
        Hidden sizes of the summary MLP ``s`` (default ``[enc_dim]``).
    summary_out_dim : int, optional
        Output size of ``s`` (default ``enc_dim``). In lite mode it must equal
        ``enc_dim``; in fast mode it must equal ``local_proj_out_dim``.
    activation : type of torch.nn.Module
        Activation class used after every linear layer (default GELU).
    global_dropout : float
        Dropout on the local and summary vectors before the combiner ``c``.
    mode : str
        ``"SummaryMixing"``, ``"SummaryMixing-lite"`` (``h_t = s_bar``) or
        ``"SummaryMixing-fast"`` (one linear gives both ``f`` and ``s``).
    use_layernorm : bool
        Apply LayerNorm to ``f(x_t)`` and to ``s_bar``.
    summary_dropout : str
        ``"utterance"``: one dropout mask for ``s_bar`` per utterance (or
        chunk), the fast default; ``"frame"``: one per frame, as in the plain
        formula (costs a ``T x d`` product in training).

    Example
    -------
    >>> layer = SummaryMixing(enc_dim=16, nhead=2)
    >>> x = torch.randn(2, 5, 16)
    >>> mask = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    >>> layer(x, src_key_padding_mask=mask).shape
    torch.Size([2, 5, 16])
    >>> lite = SummaryMixing(enc_dim=16, mode="SummaryMixing-lite")
    >>> lite(x).shape
    torch.Size([2, 5, 16])
    """

    def __init__(
        self,
        enc_dim: int,
        nhead: int = 1,
        local_proj_hid_dim: list[int] | None = None,
        local_proj_out_dim: int | None = None,
        summary_hid_dim: list[int] | None = None,
        summary_out_dim: int | None = None,
        activation: type[nn.Module] = nn.GELU,
        global_dropout: float = 0.1,
        mode: str = "SummaryMixing",
        use_layernorm: bool = True,
        summary_dropout: str = "utterance",
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode={mode!r} is unknown; accepted values: {MODES}")
        if summary_dropout not in SUMMARY_DROPOUT:
            raise ValueError(
                f"summary_dropout={summary_dropout!r} is unknown; accepted values: "
                f"{SUMMARY_DROPOUT}"
            )
        self.summary_dropout = summary_dropout
        if nhead < 1:
            raise ValueError(f"nhead must be >= 1, got {nhead}")
        local_hidden = list(local_proj_hid_dim or [enc_dim])
        summary_hidden = list(summary_hid_dim or [enc_dim])
        local_out = local_proj_out_dim or enc_dim
        summary_out = summary_out_dim or enc_dim
        self._check_sizes(mode, enc_dim, nhead, local_hidden, local_out, summary_out)
        if mode != "SummaryMixing-fast":
            for index, size in enumerate(summary_hidden):
                check_divisible(f"summary_hid_dim[{index}]", size, nhead)
        self.enc_dim = enc_dim
        self.mode = mode
        self.local_out_dim = local_out
        self.summary_out_dim = summary_out

        if mode == "SummaryMixing":
            self.local_proj = grouped_mlp(
                enc_dim, local_hidden + [local_out], nhead, activation
            )
            self.summary_proj = grouped_mlp(
                enc_dim, summary_hidden + [summary_out], nhead, activation
            )
        elif mode == "SummaryMixing-lite":
            self.summary_proj = grouped_mlp(
                enc_dim, summary_hidden + [summary_out], nhead, activation
            )
        else:
            # One linear per head producing both halves: head k's outputs are
            # [local_k ; summary_k], so each half still sees every input chunk.
            self.fast_proj = grouped_mlp(enc_dim, [2 * local_out], nhead, activation)
            self.fast_heads = nhead

        if mode != "SummaryMixing-lite":
            self.combiner = nn.Linear(local_out + summary_out, enc_dim)
            nn.init.zeros_(self.combiner.bias)
            self.combiner_activation = activation()
            self.local_norm = nn.LayerNorm(local_out) if use_layernorm else None
        self.summary_norm = nn.LayerNorm(summary_out) if use_layernorm else None
        self.dropout = nn.Dropout(global_dropout)

    @staticmethod
    def _check_sizes(
        mode: str,
        enc_dim: int,
        nhead: int,
        local_hidden: list[int],
        local_out: int,
        summary_out: int,
    ) -> None:
        """Validate the layer sizes against ``nhead`` and the chosen mode."""
        check_divisible("enc_dim", enc_dim, nhead)
        if mode == "SummaryMixing-lite" and summary_out != enc_dim:
            raise ValueError(
                f"mode='SummaryMixing-lite' outputs the summary itself, so "
                f"summary_out_dim ({summary_out}) must equal enc_dim ({enc_dim})"
            )
        if mode == "SummaryMixing-fast" and summary_out != local_out:
            raise ValueError(
                f"mode='SummaryMixing-fast' splits one projection in two halves, so "
                f"summary_out_dim ({summary_out}) must equal local_proj_out_dim "
                f"({local_out})"
            )
        if mode == "SummaryMixing":
            for index, size in enumerate(local_hidden):
                check_divisible(f"local_proj_hid_dim[{index}]", size, nhead)
        if mode != "SummaryMixing-lite":
            check_divisible("local_proj_out_dim", local_out, nhead)
        check_divisible("summary_out_dim", summary_out, nhead)

    def forward(
        self,
        x: torch.Tensor,
        src_key_padding_mask: torch.Tensor | None = None,
        dynchunktrain_config: DynChunkTrainConfig | None = None,
    ) -> torch.Tensor:
        """Mix ``x`` with its (possibly chunked) summary.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, T, enc_dim)`` input frames.
        src_key_padding_mask : torch.Tensor, optional
            ``(B, T)`` bool mask, True = padded frame (SpeechBrain convention).
        dynchunktrain_config : DynChunkTrainConfig, optional
            When given, frame t's summary covers its own chunk of
            ``chunk_size`` frames and ``left_context_size`` chunks before it
            (None = all previous chunks).

        Returns
        -------
        torch.Tensor
            ``(B, T, enc_dim)``; padded frames are zero.
        """
        self._check_input(x)
        keep = keep_weights(src_key_padding_mask, x)
        local, summary = self._project(x)
        if dynchunktrain_config is None:
            chunk_size, means = None, utterance_mean(summary, keep)
        else:
            chunk_size = dynchunktrain_config.chunk_size
            means = chunked_mean(
                summary, keep, chunk_size, dynchunktrain_config.left_context_size
            )
        if self._dropout_per_frame():
            means = self._frame_copies(means, x.shape[1], chunk_size)
            chunk_size = None
        mixed = self._combine(
            self._local_contribution(local),
            self._summary_contribution(means),
            x.shape[1],
            chunk_size,
        )
        return zero_padding(mixed, src_key_padding_mask)

    def _dropout_per_frame(self) -> bool:
        """Whether this forward draws a dropout mask per frame copy of ``s_bar``."""
        return self.summary_dropout == "frame" and self.training and self.dropout.p > 0

    @staticmethod
    def _frame_copies(
        means: torch.Tensor, frames: int, chunk_size: int | None
    ) -> torch.Tensor:
        """One copy of each utterance's (or chunk's) summary per frame."""
        if chunk_size is None:
            return means.expand(-1, frames, -1)
        return expand_chunks(means, frames, chunk_size)

    def make_streaming_state(
        self, left_context_chunks: int | None = None
    ) -> SummaryMixingStreamingState:
        """Create the carried state for :meth:`forward_streaming`.

        Parameters
        ----------
        left_context_chunks : int or None
            Previous chunks each chunk sees; None = unlimited (running sum).

        Returns
        -------
        SummaryMixingStreamingState
            Empty state, to pass to every call for one stream.
        """
        return SummaryMixingStreamingState(left_chunks=left_context_chunks)

    def forward_streaming(
        self,
        x: torch.Tensor,
        state: SummaryMixingStreamingState,
        src_key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Process one chunk, updating ``state``; equals the chunked forward.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, C, enc_dim)`` frames of the current chunk.
        state : SummaryMixingStreamingState
            State from :meth:`make_streaming_state`, mutated in place.
        src_key_padding_mask : torch.Tensor, optional
            ``(B, C)`` bool mask, True = padded frame.

        Returns
        -------
        torch.Tensor
            ``(B, C, enc_dim)`` outputs for the chunk.

        Example
        -------
        >>> layer = SummaryMixing(8).eval()
        >>> x = torch.randn(1, 6, 8)
        >>> state = layer.make_streaming_state()
        >>> chunks = [layer.forward_streaming(c, state) for c in x.split(2, dim=1)]
        >>> out = torch.cat(chunks, dim=1)
        >>> config = DynChunkTrainConfig(chunk_size=2, left_context_size=None)
        >>> torch.allclose(out, layer(x, dynchunktrain_config=config), atol=1e-5)
        True
        """
        self._check_input(x)
        keep = keep_weights(src_key_padding_mask, x)
        local, summary = self._project(x)
        mixed = self._combine(
            self._local_contribution(local),
            self._summary_contribution(state.update_and_mean(summary, keep)),
            x.shape[1],
            None,
        )
        return zero_padding(mixed, src_key_padding_mask)

    def _check_input(self, x: torch.Tensor) -> None:
        """Reject inputs whose shape the layer cannot take."""
        if x.dim() != 3 or x.shape[-1] != self.enc_dim:
            raise ValueError(
                f"x must have shape (batch, time, enc_dim={self.enc_dim}), "
                f"got {tuple(x.shape)}"
            )

    def _project(self, x: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Return ``(f(x), s(x))`` per frame; ``f`` is None in lite mode."""
        if self.mode == "SummaryMixing":
            return self.local_proj(x), self.summary_proj(x)
        if self.mode == "SummaryMixing-lite":
            return None, self.summary_proj(x)
        both = self.fast_proj(x).unflatten(-1, (self.fast_heads, 2, -1))
        return both[..., 0, :].flatten(-2), both[..., 1, :].flatten(-2)

    def _summary_contribution(self, means: torch.Tensor) -> torch.Tensor:
        """Map ``(B, 1 or N, Ds)`` summaries to their share of the output.

        Normalisation, dropout and the summary half of the combiner run once per
        utterance (or chunk), never once per frame. In lite mode the normalised
        summary itself is the output.
        """
        if self.summary_norm is not None:
            means = self.summary_norm(means)
        means = self.dropout(means)
        if self.mode == "SummaryMixing-lite":
            return means
        weight_summary = self.combiner.weight[:, self.local_out_dim :]
        return nn.functional.linear(means, weight_summary, self.combiner.bias)

    def _local_contribution(self, local: torch.Tensor | None) -> torch.Tensor | None:
        """Map ``(B, T, Dl)`` local vectors through the local half of the combiner."""
        if local is None:
            return None
        if self.local_norm is not None:
            local = self.local_norm(local)
        weight_local = self.combiner.weight[:, : self.local_out_dim]
        return nn.functional.linear(self.dropout(local), weight_local)

    def _combine(
        self,
        local_part: torch.Tensor | None,
        summary_part: torch.Tensor,
        frames: int,
        chunk_size: int | None,
    ) -> torch.Tensor:
        """Broadcast summaries over their frames and add the local part.

        ``summary_part`` holds one vector per utterance (``chunk_size`` None) or
        one per chunk; it is broadcast, never repeated into a ``T x d`` copy
        before the addition.
        """
        if local_part is None:
            if chunk_size is None:
                return summary_part.expand(-1, frames, -1)
            return expand_chunks(summary_part, frames, chunk_size)
        if chunk_size is None:
            return self.combiner_activation(local_part + summary_part)
        batch, _, dim = local_part.shape
        num_chunks = summary_part.shape[1]
        padded = nn.functional.pad(
            local_part, (0, 0, 0, num_chunks * chunk_size - frames)
        )
        grouped = padded.view(
            batch, num_chunks, chunk_size, dim
        ) + summary_part.unsqueeze(2)
        return self.combiner_activation(grouped.view(batch, -1, dim)[:, :frames])
