"""Block-diagonal ("multi-head") linear layers and the MLPs built from them.

SummaryMixing's local and summary functions are MLPs whose every linear layer is
block-diagonal when ``nhead > 1``: the input is cut into ``nhead`` equal chunks and
each chunk is mapped by its own weight. Writing this as one batched matrix
product (instead of a dense matrix with zero blocks, or a Python loop over heads)
costs ``1 / nhead`` of the dense FLOPs and keeps a single kernel launch.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def check_divisible(name: str, value: int, nhead: int) -> None:
    """Raise a ValueError when ``nhead`` does not divide a layer dimension.

    Parameters
    ----------
    name : str
        The argument the dimension comes from, used in the message.
    value : int
        The dimension.
    nhead : int
        The number of heads (blocks).

    Example
    -------
    >>> check_divisible("enc_dim", 64, 4)
    >>> check_divisible("enc_dim", 63, 4)
    Traceback (most recent call last):
    ...
    ValueError: nhead=4 must divide enc_dim=63: choose nhead among [1, 3, 7, 9, 21, 63]
    """
    if value % nhead != 0:
        divisors = [d for d in range(1, value + 1) if value % d == 0]
        raise ValueError(
            f"nhead={nhead} must divide {name}={value}: choose nhead among {divisors}"
        )


class GroupedLinear(nn.Module):
    """Block-diagonal linear map: ``nhead`` independent linears on input chunks.

    With ``nhead == 1`` this is exactly ``torch.nn.Linear`` (and uses it).

    Parameters
    ----------
    in_features : int
        Input size, divisible by ``nhead``.
    out_features : int
        Output size, divisible by ``nhead``.
    nhead : int
        Number of diagonal blocks.
    bias : bool
        Whether to add a bias (initialised to zero).

    Example
    -------
    >>> layer = GroupedLinear(8, 6, nhead=2)
    >>> layer(torch.randn(3, 5, 8)).shape
    torch.Size([3, 5, 6])
    >>> dense = layer.dense_weight()  # equivalent (6, 8) block-diagonal matrix
    >>> x = torch.randn(4, 8)
    >>> torch.allclose(layer(x), x @ dense.T, atol=1e-6)
    True
    """

    def __init__(
        self, in_features: int, out_features: int, nhead: int = 1, bias: bool = True
    ) -> None:
        super().__init__()
        check_divisible("the layer input size", in_features, nhead)
        check_divisible("the layer output size", out_features, nhead)
        self.in_features = in_features
        self.out_features = out_features
        self.nhead = nhead
        self.weight = nn.Parameter(
            torch.empty(nhead, in_features // nhead, out_features // nhead)
        )
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise each block as ``nn.Linear`` would, biases at zero."""
        fan_in = self.in_features // self.nhead
        bound = 1.0 / math.sqrt(fan_in)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map the last dimension of ``x`` block by block."""
        if self.nhead == 1:
            return nn.functional.linear(x, self.weight[0].t(), self.bias)
        out = self.forward_head_major(to_head_major(x, self.nhead))
        return from_head_major(out, x.shape[:-1])

    def forward_head_major(self, chunks: torch.Tensor) -> torch.Tensor:
        """Map ``(nhead, N, in/nhead)`` chunks to ``(nhead, N, out/nhead)``.

        One batched GEMM for all heads, the bias added inside it (``baddbmm``),
        so that a stack of these layers needs no transpose between layers.
        """
        if self.bias is None:
            return torch.bmm(chunks, self.weight)
        bias = self.bias.view(self.nhead, 1, self.out_features // self.nhead)
        return torch.baddbmm(bias, chunks, self.weight)

    def dense_weight(self) -> torch.Tensor:
        """Return the equivalent dense ``(out_features, in_features)`` weight."""
        return torch.block_diag(*[block.t() for block in self.weight])

    def extra_repr(self) -> str:
        """Describe the layer's sizes."""
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"nhead={self.nhead}, bias={self.bias is not None}"
        )


def to_head_major(x: torch.Tensor, nhead: int) -> torch.Tensor:
    """Cut the last dimension of ``x`` into ``nhead`` chunks, heads first.

    Parameters
    ----------
    x : torch.Tensor
        ``(..., D)`` input, ``D`` divisible by ``nhead``.
    nhead : int
        Number of chunks.

    Returns
    -------
    torch.Tensor
        Contiguous ``(nhead, N, D / nhead)``, ``N`` the product of the leading
        sizes of ``x``.

    Example
    -------
    >>> x = torch.arange(12.0).view(2, 6)
    >>> to_head_major(x, 3)[1]
    tensor([[2., 3.],
            [8., 9.]])
    >>> torch.equal(from_head_major(to_head_major(x, 3), x.shape[:-1]), x)
    True
    """
    return x.reshape(-1, nhead, x.shape[-1] // nhead).transpose(0, 1).contiguous()


def from_head_major(chunks: torch.Tensor, lead: torch.Size) -> torch.Tensor:
    """Undo :func:`to_head_major`: ``(nhead, N, d)`` -> ``(*lead, nhead * d)``."""
    return chunks.transpose(0, 1).reshape(*lead, -1)


class GroupedMLP(nn.Sequential):
    """``GroupedLinear`` layers, each followed by an element-wise activation.

    The same modules (and state-dict keys) as the ``nn.Sequential`` of them,
    with another forward when ``nhead > 1``: the input is laid out heads
    first once, every layer is one ``baddbmm`` on that layout and the
    activations run on it too, and the output is laid out back once at the
    end. Calling the layers one after the other instead transposes and copies
    twice per layer and adds the bias in a separate pass. Measured on 2 CPU
    cores at the paper's size, the SummaryMixing Conformer was about 5 %
    faster this way at 30 s and 3-4 % slower at 10 s
    (``benchmarks/encoder_speed.py --layer-by-layer-mlp`` times both). This
    is exact because every layer maps each head's chunk to the same head's
    chunk, and it needs the activation to be element-wise (GELU, ReLU, SiLU,
    ...).

    Example
    -------
    >>> mlp = GroupedMLP(GroupedLinear(16, 32, 4), nn.GELU(), GroupedLinear(32, 8, 4))
    >>> x = torch.randn(2, 7, 16)
    >>> torch.allclose(mlp(x), nn.Sequential(*mlp)(x), atol=1e-6)
    True
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply every layer; heads-first in between when ``nhead > 1``."""
        heads = {m.nhead for m in self if isinstance(m, GroupedLinear)}
        if heads == {1} or len(heads) != 1:
            return super().forward(x)
        chunks = to_head_major(x, heads.pop())
        for module in self:
            if isinstance(module, GroupedLinear):
                chunks = module.forward_head_major(chunks)
            else:
                chunks = module(chunks)
        return from_head_major(chunks, x.shape[:-1])


def grouped_mlp(
    in_features: int,
    layer_sizes: list[int],
    nhead: int,
    activation: type[nn.Module],
) -> GroupedMLP:
    """Build an MLP where every layer is ``GroupedLinear`` followed by activation.

    Parameters
    ----------
    in_features : int
        Input size.
    layer_sizes : list of int
        Output size of each layer, the last one being the MLP's output size.
    nhead : int
        Number of diagonal blocks of every layer.
    activation : type of torch.nn.Module
        Element-wise activation class, instantiated after every layer.

    Returns
    -------
    GroupedMLP
        The MLP.

    Example
    -------
    >>> mlp = grouped_mlp(16, [32, 8], nhead=4, activation=nn.GELU)
    >>> mlp(torch.randn(2, 7, 16)).shape
    torch.Size([2, 7, 8])
    """
    layers: list[nn.Module] = []
    size = in_features
    for out_size in layer_sizes:
        layers += [GroupedLinear(size, out_size, nhead), activation()]
        size = out_size
    return GroupedMLP(*layers)
