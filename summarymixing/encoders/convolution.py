"""Padding-exact convolutions of the Conformer and Branchformer blocks.

SpeechBrain's Conformer ``ConvolutionModule`` masks padded frames only *after*
its depthwise convolution, and its Branchformer gating unit never masks: in a
padded batch the kernel of the last real frames reaches into the padding, whose
values are not zero (they are the previous layer's outputs at padded positions),
so the last ``kernel_size // 2`` real frames of a short utterance change with
the amount of padding. The modules here zero padded positions *before* the
depthwise convolution, which makes the output of a padded batch equal to each
utterance run alone.

Both modules subclass SpeechBrain's, so they keep its parameters, names and
initialisation (checkpoints load in both directions); only ``forward`` differs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from speechbrain.lobes.models.convolution import ConvolutionalSpatialGatingUnit
from speechbrain.lobes.models.transformer.Conformer import (
    ConvolutionModule as SpeechBrainConvolutionModule,
)


class ConvolutionModule(SpeechBrainConvolutionModule):
    """Conformer convolution module that zeroes padding before its depthwise conv.

    LayerNorm -> pointwise (d -> 2d) -> GLU -> zero padded frames -> depthwise
    conv -> LayerNorm -> activation -> pointwise -> dropout, with SpeechBrain's
    parameters. The pointwise convolutions run as matrix products on the
    ``(B, T, d)`` layout so that only the depthwise convolution needs the
    channels-first layout. With ``dynchunktrain_config`` it is the Dynamic Chunk
    Convolution: each chunk sees ``kernel_size // 2`` frames of left context and
    zeros instead of the frames after its end.

    Parameters
    ----------
    input_size : int
        Feature size ``d``.
    kernel_size : int
        Depthwise kernel size (odd unless ``causal``).
    bias : bool
        Whether the convolutions have biases.
    activation : type of torch.nn.Module
        Activation after the depthwise convolution.
    dropout : float
        Output dropout.
    causal : bool
        Left-only (causal) depthwise convolution.

    Example
    -------
    >>> module = ConvolutionModule(8, kernel_size=3).eval()
    >>> x = torch.randn(2, 6, 8)
    >>> mask = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    >>> out = module(x, mask.unsqueeze(-1))
    >>> torch.allclose(out[1:, :4], module(x[1:, :4]), atol=1e-6)
    True
    """

    def __init__(
        self,
        input_size: int,
        kernel_size: int = 31,
        bias: bool = True,
        activation: type[torch.nn.Module] = torch.nn.SiLU,
        dropout: float = 0.0,
        causal: bool = False,
    ) -> None:
        super().__init__(input_size, kernel_size, bias, activation, dropout, causal)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        dynchunktrain_config=None,
    ) -> torch.Tensor:
        """Convolve ``x`` without letting padded frames reach real ones.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, T, d)`` input.
        mask : torch.Tensor, optional
            ``(B, T, 1)`` bool, True = padded frame; those frames are zeroed
            before the depthwise convolution and in the output.
        dynchunktrain_config : DynChunkTrainConfig, optional
            Chunked (Dynamic Chunk) convolution with ``chunk_size`` frames.

        Returns
        -------
        torch.Tensor
            ``(B, T, d)`` output.
        """
        gated = self.gated_pointwise(x)
        if mask is not None:
            gated = gated.masked_fill(mask, 0.0)
        if dynchunktrain_config is None:
            mixed = self._depthwise(gated)
        else:
            mixed = self._chunked_depthwise(gated, dynchunktrain_config.chunk_size)
        out = self.after_conv(mixed)
        if mask is not None:
            out = out.masked_fill(mask, 0.0)
        return out

    def forward_streaming(
        self, x: torch.Tensor, left_context: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Convolve one chunk given the gated frames that precede it.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, C, d)`` frames of the current chunk.
        left_context : torch.Tensor or None
            ``(B, kernel_size // 2, d)`` gated frames before the chunk, as
            returned by the previous call (None for the first chunk).

        Returns
        -------
        out : torch.Tensor
            ``(B, C, d)``, equal to the chunked offline forward for this chunk.
        left_context : torch.Tensor
            The left context for the next chunk.

        Example
        -------
        >>> from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig
        >>> module = ConvolutionModule(4, kernel_size=5).eval()
        >>> x, left, outs = torch.randn(1, 7, 4), None, []
        >>> for chunk in x.split(3, dim=1):
        ...     out, left = module.forward_streaming(chunk, left)
        ...     outs.append(out)
        >>> offline = module(x, dynchunktrain_config=DynChunkTrainConfig(3, None))
        >>> torch.allclose(torch.cat(outs, dim=1), offline, atol=1e-6)
        True
        """
        gated = self.gated_pointwise(x)
        if left_context is None:
            left_context = gated.new_zeros(x.shape[0], self.padding, x.shape[2])
        window = torch.cat((left_context, gated), dim=1)
        channels_first = F.pad(window.transpose(1, 2), (0, self.padding))
        mixed = self._conv_no_padding(channels_first).transpose(1, 2)
        return self.after_conv(mixed), window[:, window.shape[1] - self.padding :]

    def gated_pointwise(self, x: torch.Tensor) -> torch.Tensor:
        """LayerNorm, pointwise ``d -> 2d`` and GLU, on the ``(B, T, d)`` layout.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, T, d)`` input.

        Returns
        -------
        torch.Tensor
            ``(B, T, d)`` gated features, the depthwise convolution's input.

        Example
        -------
        >>> module = ConvolutionModule(8, kernel_size=3)
        >>> module.gated_pointwise(torch.ones(1, 2, 8)).shape
        torch.Size([1, 2, 8])
        """
        pointwise = self.bottleneck[0]
        projected = F.linear(
            self.layer_norm(x), pointwise.weight.squeeze(-1), pointwise.bias
        )
        return F.glu(projected, dim=-1)

    def _depthwise(self, gated: torch.Tensor) -> torch.Tensor:
        """Full-context (or causal) depthwise convolution, ``(B, T, d)`` in/out."""
        out = self.conv(gated.transpose(1, 2))
        if self.causal:
            out = out[..., : gated.shape[1]]
        return out.transpose(1, 2)

    def _chunked_depthwise(self, gated: torch.Tensor, chunk_size: int) -> torch.Tensor:
        """Dynamic Chunk Convolution: left context yes, frames after the chunk no.

        Every chunk is cut out with its ``padding`` left frames, followed by
        ``padding`` zeros, and the chunks are stacked along the batch axis for
        one unpadded convolution.
        """
        batch, frames, dim = gated.shape
        num_chunks = -(-frames // chunk_size)
        right = num_chunks * chunk_size - frames
        padded = F.pad(gated.transpose(1, 2), (self.padding, right))
        windows = padded.unfold(2, chunk_size + self.padding, chunk_size)
        windows = F.pad(windows, (0, self.padding))
        stacked = windows.transpose(1, 2).reshape(batch * num_chunks, dim, -1)
        out = self._conv_no_padding(stacked)
        out = out.view(batch, num_chunks, dim, chunk_size).permute(0, 1, 3, 2)
        return out.reshape(batch, num_chunks * chunk_size, dim)[:, :frames]

    def _conv_no_padding(self, channels_first: torch.Tensor) -> torch.Tensor:
        """Depthwise convolution with SpeechBrain's weights and no implicit padding."""
        return F.conv1d(
            channels_first,
            self.conv.weight,
            self.conv.bias,
            groups=self.conv.groups,
        )


class GatingUnit(ConvolutionalSpatialGatingUnit):
    """Branchformer's convolutional spatial gating unit, padding-exact.

    Splits the input in halves ``(a, b)`` and returns ``a * g(conv(LN(b)))``.
    Two differences from SpeechBrain's class, whose parameters it keeps:
    padded frames of ``LN(b)`` are zeroed before the depthwise convolution, and
    the convolution pads the utterance with zeros (as the original cgMLP of
    ESPnet does) instead of SpeechBrain's reflection. Reflection at the end of
    the *batch* mirrors padding rather than speech, so no reflection scheme can
    be padding-exact, and it fails on utterances shorter than half the kernel.

    Parameters
    ----------
    input_size : int
        Feature size before the split (must be even).
    kernel_size : int
        Depthwise kernel size (odd).
    dropout : float
        Output dropout.
    use_linear_after_conv : bool
        Linear layer after the convolution.
    activation : type of torch.nn.Module
        Activation of the gate.

    Example
    -------
    >>> unit = GatingUnit(8, kernel_size=3).eval()
    >>> x = torch.randn(2, 5, 8)
    >>> mask = torch.tensor([[False] * 5, [False] * 2 + [True] * 3])
    >>> out = unit(x, mask.unsqueeze(-1))
    >>> out.shape, torch.allclose(out[1:, :2], unit(x[1:, :2]), atol=1e-6)
    (torch.Size([2, 5, 4]), True)
    """

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Gate one half of ``x`` with the convolved other half.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, T, input_size)`` input.
        mask : torch.Tensor, optional
            ``(B, T, 1)`` bool, True = padded frame.

        Returns
        -------
        torch.Tensor
            ``(B, T, input_size // 2)``.
        """
        content, gate = x.chunk(2, dim=-1)
        gate = self.norm(gate)
        if mask is not None:
            gate = gate.masked_fill(mask, 0.0)
        conv = self.conv.conv
        gate = F.conv1d(
            gate.transpose(1, 2),
            conv.weight,
            conv.bias,
            padding=conv.kernel_size[0] // 2,
            groups=conv.groups,
        ).transpose(1, 2)
        if self.use_linear_after_conv:
            gate = self.linear(gate)
        return self.dropout(self.activation(gate) * content)
