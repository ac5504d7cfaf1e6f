"""ContextNet CTC probe (all strides 1), exact under padding.

The layers and parameters are SpeechBrain's ``ContextNet`` lobe, built with
unit strides so that the probe keeps the encoder's frame rate. Its own
forward is not exact under padding: its "same" convolutions reflect at the
padded end instead of the utterance's end, padded frames turn non-zero after
the first convolution and flow back into real frames, and every
squeeze-and-excitation averages over padding. :class:`ContextNetCTCProbe`
walks the same layers with three changes: convolutions pad with zeros (see
:func:`~summarymixing.mp3s.probes.padding.zero_edge_padding`), padded frames are
zeroed after every layer, and the squeeze is a mean over real frames. In eval
mode a padded batch then gives each utterance what it gets alone. In train
mode, BatchNorm statistics include padded frames, as in SpeechBrain.
"""

import torch
from speechbrain.lobes.models.ContextNet import ContextNet, ContextNetBlock, SEmodule
from torch import nn

from summarymixing.mp3s.probes.padding import zero_edge_padding
from summarymixing.padding import masked_mean, zero_padding

DEFAULT_CONV_CHANNELS = (256,) * 10 + (512,) * 11


class ContextNetCTCProbe(nn.Module):
    """SpeechBrain's ContextNet with unit strides, then a linear CTC output layer.

    Parameters
    ----------
    input_size : int
        Dimension of the features.
    vocab_size : int
        Number of output tokens, CTC blank included.
    out_channels : int
        Channels of the last convolution.
    conv_channels : sequence of int, optional
        Channels of each block; defaults to SpeechBrain's ``10 x 256, 11 x 512``.
    num_blocks : int
        Number of ContextNet blocks.
    num_layers : int
        Depthwise-separable convolutions per block.
    kernel_size : int
        Kernel size of the convolutions.
    inner_dim : int
        Bottleneck of the squeeze-and-excitation modules.
    dropout : float
        Dropout at the end of each block.

    Example
    -------
    >>> probe = ContextNetCTCProbe(
    ...     16, 5, out_channels=8, conv_channels=[8, 8], num_blocks=2, num_layers=2
    ... ).eval()
    >>> padding = torch.tensor([[False] * 9, [False] * 5 + [True] * 4])
    >>> probe(torch.randn(2, 9, 16), padding).shape
    torch.Size([2, 9, 5])
    """

    def __init__(
        self,
        input_size: int,
        vocab_size: int,
        out_channels: int = 640,
        conv_channels: list[int] | tuple[int, ...] | None = None,
        num_blocks: int = 21,
        num_layers: int = 5,
        kernel_size: int = 3,
        inner_dim: int = 12,
        dropout: float = 0.15,
    ) -> None:
        super().__init__()
        if conv_channels is None:
            conv_channels = DEFAULT_CONV_CHANNELS
        channels = list(conv_channels)
        if len(channels) < num_blocks:
            raise ValueError(
                f"conv_channels has {len(channels)} entries but num_blocks is "
                f"{num_blocks}; give one channel count per block"
            )
        self.contextnet = ContextNet(
            input_shape=(1, 2 * kernel_size + 1, input_size),
            out_channels=out_channels,
            conv_channels=channels,
            kernel_size=kernel_size,
            strides=[1] * num_blocks,
            num_blocks=num_blocks,
            num_layers=num_layers,
            inner_dim=inner_dim,
            dropout=dropout,
        )
        zero_edge_padding(self.contextnet)
        # SpeechBrain infers shapes with dummy forwards in train mode, which
        # moves the BatchNorm running statistics; start them afresh.
        for layer in self.contextnet.modules():
            if isinstance(layer, nn.modules.batchnorm._BatchNorm):
                layer.reset_running_stats()
        self.output = nn.Linear(out_channels, vocab_size)

    def forward(
        self, features: torch.Tensor, padding_mask: torch.Tensor
    ) -> torch.Tensor:
        """Frame logits.

        Parameters
        ----------
        features : torch.Tensor
            ``(batch, frames, input_size)``.
        padding_mask : torch.Tensor
            ``(batch, frames)`` bool, ``True`` on padding.

        Returns
        -------
        torch.Tensor
            ``(batch, frames, vocab_size)``.
        """
        x = zero_padding(features, padding_mask)
        for layer in self.contextnet.values():
            if isinstance(layer, ContextNetBlock):
                x = self._block(layer, x, padding_mask)
            else:
                x = zero_padding(layer(x), padding_mask)
        return self.output(x)

    def _block(
        self, block: ContextNetBlock, x: torch.Tensor, padding_mask: torch.Tensor
    ) -> torch.Tensor:
        """One ContextNet block: convolutions, squeeze-excite, residual."""
        out = x
        for layer in block.Convs.values():
            out = zero_padding(layer(out), padding_mask)
        out = self._squeeze_excite(block.SE, out, padding_mask)
        if block.reduced_cov is not None:
            out = out + zero_padding(block.reduced_cov(x), padding_mask)
        out = block.drop(block.activation(out))
        return zero_padding(out, padding_mask)

    @staticmethod
    def _squeeze_excite(
        se: SEmodule, x: torch.Tensor, padding_mask: torch.Tensor
    ) -> torch.Tensor:
        """Squeeze-and-excitation whose squeeze averages real frames only."""
        x = zero_padding(se.conv(x), padding_mask)
        context = se.bottleneck(masked_mean(x, padding_mask).unsqueeze(1))
        return x * context
