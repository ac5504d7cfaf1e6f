"""Building blocks shared by the wav2vec 2.0 front-ends.

A stack of Conv1d + LayerNorm + GELU layers that keeps padded frames at zero
and knows its own output lengths, and a per-utterance normalisation that
ignores padding. Together they make every front-end exactly
padding-invariant: a padded batch gives, on real frames, the latents of each
utterance run alone.
"""

from collections.abc import Sequence

import torch
from torch import nn

from summarymixing.padding import make_padding_mask


def masked_mean_variance_normalise(
    x: torch.Tensor, lengths: torch.Tensor, eps: float = 1e-5
) -> torch.Tensor:
    """Normalise each utterance to zero mean, unit variance over its real frames.

    SpeechBrain's ``InputNormalization`` rounds relative lengths to find the
    real frames; here the absolute lengths are exact, and padded positions are
    excluded from the statistics and set to zero in the output.

    Arguments
    ---------
    x : torch.Tensor
        ``(batch, time)`` or ``(batch, time, channels)``; statistics are per
        channel.
    lengths : torch.Tensor
        ``(batch,)`` number of real time steps.
    eps : float
        Added to the variance.

    Returns
    -------
    torch.Tensor
        Normalised tensor, same shape, zeros on padding.

    Example
    -------
    >>> x = torch.tensor([[1.0, 3.0, 100.0]])
    >>> masked_mean_variance_normalise(x, torch.tensor([2]), eps=0.0)
    tensor([[-1.,  1.,  0.]])
    """
    real = ~make_padding_mask(lengths, x.shape[1])
    real = real.view(*real.shape, *([1] * (x.dim() - 2))).to(x.dtype)
    count = real.sum(dim=1, keepdim=True).clamp(min=1.0)
    mean = (x * real).sum(dim=1, keepdim=True) / count
    variance = (((x - mean) * real) ** 2).sum(dim=1, keepdim=True) / count
    return (x - mean) / torch.sqrt(variance + eps) * real


class ConvLayerNormGELU(nn.Module):
    """One front-end layer: Conv1d, LayerNorm over channels, GELU.

    Padded output frames are set to zero, so that the next layer sees exactly
    the zeros an utterance run alone would see at its end.

    Arguments
    ---------
    in_channels : int
        Input channels.
    out_channels : int
        Output channels.
    kernel_size : int
        Convolution kernel size.
    stride : int
        Convolution stride.
    padding : int
        Zero padding on both sides (``kernel_size // 2`` for "same").
    bias : bool
        Whether the convolution has a bias.

    Example
    -------
    >>> layer = ConvLayerNormGELU(4, 8, kernel_size=3, stride=2, padding=1)
    >>> y, lengths = layer(torch.randn(2, 9, 4), torch.tensor([9, 5]))
    >>> y.shape, lengths.tolist()
    (torch.Size([2, 5, 8]), [5, 3])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        padding: int = 0,
        bias: bool = True,
    ):
        super().__init__()
        self.conv = nn.Conv1d(
            in_channels, out_channels, kernel_size, stride, padding, bias=bias
        )
        self.norm = nn.LayerNorm(out_channels)
        self.activation = nn.GELU()

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Output frames for ``lengths`` input frames (PyTorch's Conv1d formula).

        Arguments
        ---------
        lengths : torch.Tensor
            Input lengths.

        Returns
        -------
        torch.Tensor
            Output lengths, at least zero.
        """
        (kernel,), (stride,) = self.conv.kernel_size, self.conv.stride
        (padding,), (dilation,) = self.conv.padding, self.conv.dilation
        span = dilation * (kernel - 1) + 1
        return ((lengths + 2 * padding - span) // stride + 1).clamp(min=0)

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply the layer to ``(batch, time, channels)``; return output, lengths."""
        y = self.activation(self.norm(self.conv(x.transpose(1, 2)).transpose(1, 2)))
        out_lengths = self.output_lengths(lengths)
        padding = make_padding_mask(out_lengths, y.shape[1]).unsqueeze(-1)
        return y.masked_fill(padding, 0.0), out_lengths


class ConvLayerStack(nn.Module):
    """Stack of :class:`ConvLayerNormGELU` layers followed by a LayerNorm.

    Arguments
    ---------
    in_channels : int
        Input channels of the first layer.
    out_channels : int
        Channels of every layer.
    kernel_sizes : Sequence[int]
        Kernel size of each layer.
    strides : Sequence[int]
        Stride of each layer.
    same_padding : bool
        ``True``: pad ``k // 2`` zeros on both sides; ``False``: valid convs.
    bias : bool
        Whether the convolutions have biases.

    Example
    -------
    >>> stack = ConvLayerStack(1, 8, [10, 3], [5, 2], same_padding=False, bias=False)
    >>> lengths = torch.tensor([400, 100])
    >>> stack.run_convs(torch.randn(2, 400, 1), lengths).shape
    torch.Size([2, 39, 8])
    >>> stack.conv_output_lengths(lengths).tolist()
    [39, 9]
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_sizes: Sequence[int],
        strides: Sequence[int],
        same_padding: bool,
        bias: bool,
    ):
        super().__init__()
        if len(kernel_sizes) != len(strides):
            raise ValueError(
                f"kernel_sizes {kernel_sizes} and strides {strides} must have the "
                "same number of entries (one per conv layer)."
            )
        channels = [in_channels] + [out_channels] * len(kernel_sizes)
        self.layers = nn.ModuleList(
            ConvLayerNormGELU(
                channels[i],
                out_channels,
                kernel,
                stride,
                padding=kernel // 2 if same_padding else 0,
                bias=bias,
            )
            for i, (kernel, stride) in enumerate(
                zip(kernel_sizes, strides, strict=True)
            )
        )
        self.output_norm = nn.LayerNorm(out_channels)
        self.out_dim = out_channels

    def conv_output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Return the output length of the whole stack for each input length.

        Arguments
        ---------
        lengths : torch.Tensor
            Input lengths (time steps).

        Returns
        -------
        torch.Tensor
            Output frames, computed layer by layer from the convs' attributes.
        """
        for layer in self.layers:
            lengths = layer.output_lengths(lengths)
        return lengths

    def run_convs(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Apply every layer and the final LayerNorm; zeros on padded frames.

        Arguments
        ---------
        x : torch.Tensor
            ``(batch, time, in_channels)`` input, zeros on padding.
        lengths : torch.Tensor
            ``(batch,)`` number of real input time steps.

        Returns
        -------
        torch.Tensor
            ``(batch, frames, out_channels)``.
        """
        for layer in self.layers:
            x, lengths = layer(x, lengths)
        padding = make_padding_mask(lengths, x.shape[1]).unsqueeze(-1)
        return self.output_norm(x).masked_fill(padding, 0.0)
