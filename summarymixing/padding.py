"""Lengths and padding masks: the one home of the conventions every layer uses.

A padding mask is ``(batch, frames)`` bool, ``True`` on padded positions, as
PyTorch's ``src_key_padding_mask``. Lengths are absolute counts (``LongTensor``
of samples, frames or tokens). SpeechBrain's data loaders deliver *relative*
lengths (fraction of the padded length): :func:`relative_to_absolute_lengths`
converts them, and :func:`relative_lengths` goes back for SpeechBrain modules
that want them. The SummaryMixing layer, the encoders, the wav2vec 2.0 model,
the MP3S probes and fine-tuning all read these helpers from here, so that a
padded batch gives every utterance what it gets alone, by the same rules.
"""

import torch


def relative_to_absolute_lengths(
    relative_lengths: torch.Tensor, max_length: int
) -> torch.Tensor:
    """Convert SpeechBrain relative lengths into absolute counts.

    Parameters
    ----------
    relative_lengths : torch.Tensor
        ``(batch,)`` fractions in ``(0, 1]`` of the padded length.
    max_length : int
        The padded length (e.g. ``wavs.shape[1]``).

    Returns
    -------
    torch.Tensor
        ``(batch,)`` long tensor of lengths, rounded to the nearest integer
        (in double precision, exact for any realistic number of samples).

    Example
    -------
    >>> relative_to_absolute_lengths(torch.tensor([1.0, 0.5]), 16000)
    tensor([16000,  8000])
    """
    return torch.round(relative_lengths.double() * max_length).long()


def make_padding_mask(lengths: torch.Tensor, max_length: int) -> torch.Tensor:
    """Build a padding mask, ``True`` on padded positions.

    Parameters
    ----------
    lengths : torch.Tensor
        ``(batch,)`` absolute lengths.
    max_length : int
        Padded length of the mask.

    Returns
    -------
    torch.Tensor
        ``(batch, max_length)`` boolean mask, ``True`` = padding.

    Example
    -------
    >>> make_padding_mask(torch.tensor([3, 1]), 3)
    tensor([[False, False, False],
            [False,  True,  True]])
    """
    positions = torch.arange(max_length, device=lengths.device)
    return positions.unsqueeze(0) >= lengths.unsqueeze(1)


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


def zero_padding(x: torch.Tensor, padding_mask: torch.Tensor | None) -> torch.Tensor:
    """Set the padded frames of ``(batch, frames, channels)`` to zero.

    Zeroing after every block keeps padding from growing through the layers
    (a convolution or a summary would otherwise read it).

    Parameters
    ----------
    x : torch.Tensor
        ``(batch, frames, channels)``.
    padding_mask : torch.Tensor or None
        ``(batch, frames)`` bool, ``True`` on padding; None = no padding,
        ``x`` is returned as it is.

    Returns
    -------
    torch.Tensor
        ``x`` with zeros on padded frames.

    Example
    -------
    >>> zero_padding(torch.ones(1, 2, 1), torch.tensor([[False, True]])).flatten()
    tensor([1., 0.])
    >>> zero_padding(torch.ones(1, 2, 1), None).flatten()
    tensor([1., 1.])
    """
    if padding_mask is None:
        return x
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
        ``(batch, channels)``; an utterance with no real frame gets zeros.

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
