"""X-vector and ECAPA-TDNN embedders on SSL features, exact under padding.

Both wrap SpeechBrain's lobes (``Xvector`` and ``ECAPA_TDNN``): same layers,
same parameters, same state-dict keys under ``.xvector`` / ``.ecapa``. Their
own forwards take SpeechBrain relative lengths only in the pooling and
squeeze-excitation layers; everywhere else padded frames leak into real ones
(reflect "same" padding at the padded end, non-zero padded frames after each
convolution), and ``StatisticsPooling`` adds random noise to the mean even in
eval mode. The forwards here walk the same layers with zero edge padding,
padded frames zeroed after every layer, and masked statistics, so that in
eval mode a padded batch gives each utterance the embedding it gets alone.
In train mode BatchNorm statistics include padded frames, as in SpeechBrain.
"""

from collections.abc import Sequence

import torch
from speechbrain.lobes.models.ECAPA_TDNN import (
    ECAPA_TDNN,
    AttentiveStatisticsPooling,
    Res2NetBlock,
    SEBlock,
    SERes2NetBlock,
    TDNNBlock,
)
from speechbrain.lobes.models.Xvector import Xvector
from speechbrain.nnet.pooling import StatisticsPooling
from torch import nn

from summarymixing.mp3s.probes.padding import zero_edge_padding
from summarymixing.padding import masked_mean_std, zero_padding


class XvectorEmbedder(nn.Module):
    """SpeechBrain's X-vector TDNN with masked statistics pooling.

    Parameters
    ----------
    input_size : int
        Dimension of the features.
    embedding_size : int
        Dimension of the embedding.
    channels, kernel_sizes, dilations : sequence of int
        One entry per TDNN layer.

    Example
    -------
    >>> embedder = XvectorEmbedder(16, 8, [8, 8, 12], [3, 3, 1], [1, 2, 1]).eval()
    >>> padding = torch.tensor([[False] * 9, [False] * 5 + [True] * 4])
    >>> embedder(torch.randn(2, 9, 16), padding).shape
    torch.Size([2, 8])
    """

    def __init__(
        self,
        input_size: int,
        embedding_size: int = 512,
        channels: Sequence[int] = (512, 512, 512, 512, 1500),
        kernel_sizes: Sequence[int] = (5, 3, 3, 1, 1),
        dilations: Sequence[int] = (1, 2, 3, 1, 1),
    ) -> None:
        super().__init__()
        if not len(channels) == len(kernel_sizes) == len(dilations):
            raise ValueError(
                "channels, kernel_sizes and dilations need one entry per TDNN "
                f"layer; got {len(channels)}, {len(kernel_sizes)}, {len(dilations)}"
            )
        self.xvector = zero_edge_padding(
            Xvector(
                tdnn_blocks=len(channels),
                tdnn_channels=list(channels),
                tdnn_kernel_sizes=list(kernel_sizes),
                tdnn_dilations=list(dilations),
                lin_neurons=embedding_size,
                in_channels=input_size,
            )
        )
        self.embedding_size = embedding_size

    def forward(
        self, features: torch.Tensor, padding_mask: torch.Tensor
    ) -> torch.Tensor:
        """Utterance embeddings.

        Parameters
        ----------
        features : torch.Tensor
            ``(batch, frames, input_size)``.
        padding_mask : torch.Tensor
            ``(batch, frames)`` bool, ``True`` on padding.

        Returns
        -------
        torch.Tensor
            ``(batch, embedding_size)``.
        """
        blocks = list(self.xvector.blocks)
        pooling = next(
            i for i, b in enumerate(blocks) if isinstance(b, StatisticsPooling)
        )
        x = zero_padding(features, padding_mask)
        for layer in blocks[:pooling]:  # frame level: padding zeroed after each
            x = zero_padding(layer(x), padding_mask)
        mean, std = masked_mean_std(x, padding_mask, eps=blocks[pooling].eps)
        x = torch.cat([mean, std], dim=-1)
        for layer in blocks[pooling + 1 :]:  # utterance level
            x = layer(x)
        return x


class ECAPAEmbedder(nn.Module):
    """SpeechBrain's ECAPA-TDNN, exact under padding.

    Parameters
    ----------
    input_size : int
        Dimension of the features.
    embedding_size : int
        Dimension of the embedding (published: 512 for VoxCeleb1, 96 for
        IEMOCAP).
    channels, kernel_sizes, dilations : sequence of int
        One entry per layer (first TDNN, SE-Res2Net blocks, aggregation).
    attention_channels : int
        Channels of the attentive statistics pooling.
    res2net_scale : int
        Scale of the Res2Net blocks (must divide the channels).
    se_channels : int
        Bottleneck of the squeeze-and-excitation blocks.

    Example
    -------
    >>> embedder = ECAPAEmbedder(
    ...     16, 8, [8, 8, 16], [3, 3, 1], [1, 2, 1], attention_channels=4,
    ...     res2net_scale=2, se_channels=4,
    ... ).eval()
    >>> padding = torch.tensor([[False] * 9, [False] * 5 + [True] * 4])
    >>> embedder(torch.randn(2, 9, 16), padding).shape
    torch.Size([2, 8])
    """

    def __init__(
        self,
        input_size: int,
        embedding_size: int = 512,
        channels: Sequence[int] = (512, 512, 512, 512, 1536),
        kernel_sizes: Sequence[int] = (5, 3, 3, 3, 1),
        dilations: Sequence[int] = (1, 2, 3, 4, 1),
        attention_channels: int = 64,
        res2net_scale: int = 8,
        se_channels: int = 128,
    ) -> None:
        super().__init__()
        if not len(channels) == len(kernel_sizes) == len(dilations):
            raise ValueError(
                "channels, kernel_sizes and dilations need one entry per layer; "
                f"got {len(channels)}, {len(kernel_sizes)}, {len(dilations)}"
            )
        self.ecapa = zero_edge_padding(
            ECAPA_TDNN(
                input_size,
                lin_neurons=embedding_size,
                channels=list(channels),
                kernel_sizes=list(kernel_sizes),
                dilations=list(dilations),
                attention_channels=attention_channels,
                res2net_scale=res2net_scale,
                se_channels=se_channels,
                groups=[1] * len(channels),
            )
        )
        self.embedding_size = embedding_size

    def forward(
        self, features: torch.Tensor, padding_mask: torch.Tensor
    ) -> torch.Tensor:
        """Utterance embeddings.

        Parameters
        ----------
        features : torch.Tensor
            ``(batch, frames, input_size)``.
        padding_mask : torch.Tensor
            ``(batch, frames)`` bool, ``True`` on padding.

        Returns
        -------
        torch.Tensor
            ``(batch, embedding_size)``.
        """
        keep = (~padding_mask).unsqueeze(1).to(features.dtype)
        x = features.transpose(1, 2) * keep
        outputs = []
        for layer in self.ecapa.blocks:
            if isinstance(layer, TDNNBlock):
                x = layer(x) * keep
            else:
                x = self._se_res2net(layer, x, keep)
            outputs.append(x)
        x = self.ecapa.mfa(torch.cat(outputs[1:], dim=1)) * keep
        x = self._attentive_statistics(self.ecapa.asp, x, keep)
        return self.ecapa.fc(self.ecapa.asp_bn(x)).squeeze(-1)

    @staticmethod
    def _se_res2net(
        block: SERes2NetBlock, x: torch.Tensor, keep: torch.Tensor
    ) -> torch.Tensor:
        """TDNN, Res2Net, TDNN, squeeze-excitation, residual; padding kept zero."""
        residual = x if block.shortcut is None else block.shortcut(x)
        h = block.tdnn1(x) * keep
        h = ECAPAEmbedder._res2net(block.res2net_block, h, keep)
        h = block.tdnn2(h) * keep
        h = ECAPAEmbedder._squeeze_excite(block.se_block, h, keep)
        return (h + residual) * keep

    @staticmethod
    def _res2net(
        block: Res2NetBlock, x: torch.Tensor, keep: torch.Tensor
    ) -> torch.Tensor:
        """Hierarchical residual convolutions over channel groups."""
        chunks = torch.chunk(x, block.scale, dim=1)
        outputs = [chunks[0]]
        for index, chunk in enumerate(chunks[1:]):
            inputs = chunk if index == 0 else chunk + outputs[-1]
            outputs.append(block.blocks[index](inputs) * keep)
        return torch.cat(outputs, dim=1)

    @staticmethod
    def _squeeze_excite(
        block: SEBlock, x: torch.Tensor, keep: torch.Tensor
    ) -> torch.Tensor:
        """Channel gates from the mean over real frames."""
        squeezed = (x * keep).sum(dim=2, keepdim=True) / keep.sum(dim=2, keepdim=True)
        gates = block.sigmoid(block.conv2(block.relu(block.conv1(squeezed))))
        return gates * x

    @staticmethod
    def _attentive_statistics(
        pooling: AttentiveStatisticsPooling, x: torch.Tensor, keep: torch.Tensor
    ) -> torch.Tensor:
        """Attention-weighted mean and std over real frames, ``(B, 2C, 1)``."""

        def statistics(weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            mean = (weights * x).sum(dim=2, keepdim=True)
            variance = (weights * (x - mean) ** 2).sum(dim=2, keepdim=True)
            return mean, torch.sqrt(variance.clamp(pooling.eps))

        attention_input = x
        if pooling.global_context:
            mean, std = statistics(keep / keep.sum(dim=2, keepdim=True))
            frames = x.shape[-1]
            attention_input = torch.cat(
                [x, mean.expand(-1, -1, frames), std.expand(-1, -1, frames)], dim=1
            )
        scores = pooling.conv(pooling.tanh(pooling.tdnn(attention_input)))
        scores = scores.masked_fill(keep == 0, float("-inf"))
        mean, std = statistics(torch.softmax(scores, dim=2))
        return torch.cat([mean, std], dim=1)
