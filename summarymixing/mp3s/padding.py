"""Padding-mask helpers shared by the MP3S probes.

Every probe receives ``(features, padding_mask)`` where ``padding_mask`` is
``(batch, frames)`` bool, ``True`` on padded frames (the convention of
:mod:`summarymixing.wav2vec2.lengths` and PyTorch). The helpers here turn the
mask into what each building block needs, so that a padded batch gives each
utterance exactly what it gets alone.
"""

import torch
from torch import nn


def frame_lengths(padding_mask: torch.Tensor) -> torch.Tensor:
    """Count the real frames of each utterance.

    Parameters
    ----------
    padding_mask : torch.Tensor
        ``(batch, frames)`` bool, ``True`` on padding.

    Returns
    -------
    torch.Tensor
        ``(batch,)`` long tensor.

    Example
    -------
    >>> frame_lengths(torch.tensor([[False, False, True], [False, True, True]]))
    tensor([2, 1])
    """
    return (~padding_mask).sum(dim=1)


def relative_lengths(padding_mask: torch.Tensor) -> torch.Tensor:
    """SpeechBrain relative lengths (real frames / padded frames).

    Parameters
    ----------
    padding_mask : torch.Tensor
        ``(batch, frames)`` bool, ``True`` on padding.

    Returns
    -------
    torch.Tensor
        ``(batch,)`` float tensor in ``(0, 1]``.

    Example
    -------
    >>> relative_lengths(torch.tensor([[False, False], [False, True]]))
    tensor([1.0000, 0.5000])
    """
    return frame_lengths(padding_mask).float() / padding_mask.shape[1]


def zero_padding(x: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
    """Set the padded frames of ``(batch, frames, channels)`` to zero.

    Parameters
    ----------
    x : torch.Tensor
        ``(batch, frames, channels)``.
    padding_mask : torch.Tensor
        ``(batch, frames)`` bool, ``True`` on padding.

    Returns
    -------
    torch.Tensor
        ``x`` with zeros on padded frames.

    Example
    -------
    >>> zero_padding(torch.ones(1, 2, 1), torch.tensor([[False, True]])).flatten()
    tensor([1., 0.])
    """
    return x.masked_fill(padding_mask.unsqueeze(-1), 0.0)


def masked_mean(x: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
    """Mean over the real frames of ``(batch, frames, channels)``.

    Parameters
    ----------
    x : torch.Tensor
        ``(batch, frames, channels)``.
    padding_mask : torch.Tensor
        ``(batch, frames)`` bool, ``True`` on padding.

    Returns
    -------
    torch.Tensor
        ``(batch, channels)``.

    Example
    -------
    >>> x = torch.tensor([[[1.0], [3.0], [100.0]]])
    >>> masked_mean(x, torch.tensor([[False, False, True]]))
    tensor([[2.]])
    """
    counts = frame_lengths(padding_mask).clamp(min=1).unsqueeze(-1).to(x.dtype)
    return zero_padding(x, padding_mask).sum(dim=1) / counts


def masked_mean_std(
    x: torch.Tensor, padding_mask: torch.Tensor, eps: float = 1e-5
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased standard deviation over the real frames.

    Parameters
    ----------
    x : torch.Tensor
        ``(batch, frames, channels)``.
    padding_mask : torch.Tensor
        ``(batch, frames)`` bool, ``True`` on padding.
    eps : float
        Added to the standard deviation (as SpeechBrain's statistics pooling).

    Returns
    -------
    mean, std : torch.Tensor
        ``(batch, channels)`` each.

    Example
    -------
    >>> x = torch.tensor([[[1.0], [3.0], [100.0]]])
    >>> mean, std = masked_mean_std(x, torch.tensor([[False, False, True]]), eps=0)
    >>> mean.item(), round(std.item(), 4)
    (2.0, 1.4142)
    """
    mean = masked_mean(x, padding_mask)
    counts = frame_lengths(padding_mask).unsqueeze(-1).to(x.dtype)
    squares = zero_padding((x - mean.unsqueeze(1)) ** 2, padding_mask).sum(dim=1)
    std = torch.sqrt(squares / (counts - 1).clamp(min=1))
    return mean, std + eps


def run_packed_rnn(
    rnn: nn.RNNBase, x: torch.Tensor, padding_mask: torch.Tensor
) -> torch.Tensor:
    """Run a batch-first RNN on the real frames only (packed sequences).

    A bidirectional RNN run on a padded tensor reads the padding before the
    real frames in its backward direction; packing makes each utterance's
    output independent of the padding.

    Parameters
    ----------
    rnn : torch.nn.RNNBase
        A ``batch_first=True`` LSTM/GRU/RNN.
    x : torch.Tensor
        ``(batch, frames, input_size)``.
    padding_mask : torch.Tensor
        ``(batch, frames)`` bool, ``True`` on padding.

    Returns
    -------
    torch.Tensor
        ``(batch, frames, hidden * directions)``, zero on padded frames.

    Example
    -------
    >>> rnn = nn.LSTM(4, 3, batch_first=True, bidirectional=True)
    >>> out = run_packed_rnn(rnn, torch.randn(2, 5, 4), torch.tensor([[False] * 5,
    ...     [False] * 2 + [True] * 3]))
    >>> out.shape, out[1, 2:].abs().sum().item()
    (torch.Size([2, 5, 6]), 0.0)
    """
    lengths = frame_lengths(padding_mask)
    if bool((lengths == 0).any()):
        raise ValueError(
            "An utterance has no real frame (its padding mask is all True); "
            "drop utterances shorter than one encoder frame before probing."
        )
    packed = nn.utils.rnn.pack_padded_sequence(
        x, lengths.cpu(), batch_first=True, enforce_sorted=False
    )
    output, _ = rnn(packed)
    padded, _ = nn.utils.rnn.pad_packed_sequence(
        output, batch_first=True, total_length=x.shape[1]
    )
    return padded


def zero_edge_padding(module: nn.Module) -> nn.Module:
    """Make every SpeechBrain ``Conv1d`` in ``module`` pad with zeros.

    SpeechBrain's "same" convolutions pad with reflected frames by default. A
    reflection of the utterance's own last frames cannot be reproduced for
    an utterance that ends inside a padded batch; zeros can, since the probes
    zero the padded frames between layers. The weights are unchanged.

    Parameters
    ----------
    module : torch.nn.Module
        Any module holding ``speechbrain.nnet.CNN.Conv1d`` layers.

    Returns
    -------
    torch.nn.Module
        ``module``, modified in place.

    Example
    -------
    >>> from speechbrain.nnet.CNN import Conv1d
    >>> conv = zero_edge_padding(Conv1d(4, 3, in_channels=2))
    >>> conv.padding_mode
    'constant'
    """
    from speechbrain.nnet.CNN import Conv1d

    for layer in module.modules():
        if isinstance(layer, Conv1d):
            layer.padding_mode = "constant"
    return module
