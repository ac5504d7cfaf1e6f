"""Lengths and padding masks for wav2vec 2.0 pre-training.

Convention used everywhere in :mod:`summarymixing.wav2vec2`: lengths are
**absolute counts** (``LongTensor`` of samples or frames), and padding masks
are ``True`` on padded positions, like PyTorch's ``src_key_padding_mask``.
SpeechBrain data loaders deliver *relative* lengths (fraction of the padded
length); :func:`relative_to_absolute_lengths` converts them once, at the
entry of the model.

Frame counts always come from the front-end's own conv arithmetic
(:meth:`output_lengths`), never from numbers repeated in a YAML file.
"""

from typing import Protocol

import torch


class LatentFrontEnd(Protocol):
    """What the wav2vec 2.0 modules need from a front-end.

    Attributes
    ----------
    out_dim : int
        Number of channels of the latents.
    """

    out_dim: int

    def __call__(self, wavs: torch.Tensor, num_samples: torch.Tensor) -> torch.Tensor:
        """Map ``(batch, samples)`` waveforms to ``(batch, frames, out_dim)``."""

    def output_lengths(self, num_samples: torch.Tensor) -> torch.Tensor:
        """Return the number of output frames for each number of samples."""


def relative_to_absolute_lengths(
    relative_lengths: torch.Tensor, max_length: int
) -> torch.Tensor:
    """Convert SpeechBrain relative lengths into absolute counts.

    Arguments
    ---------
    relative_lengths : torch.Tensor
        ``(batch,)`` fractions in ``(0, 1]`` of the padded length.
    max_length : int
        The padded length (e.g. ``wavs.shape[1]``).

    Returns
    -------
    torch.Tensor
        ``(batch,)`` long tensor of lengths, rounded to the nearest integer.

    Example
    -------
    >>> relative_to_absolute_lengths(torch.tensor([1.0, 0.5]), 16000)
    tensor([16000,  8000])
    """
    return torch.round(relative_lengths.double() * max_length).long()


def make_padding_mask(lengths: torch.Tensor, max_length: int) -> torch.Tensor:
    """Build a padding mask, ``True`` on padded positions.

    Arguments
    ---------
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


def frame_lengths_and_padding_mask(
    frontend: LatentFrontEnd, wav_lens: torch.Tensor, num_padded_samples: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame lengths and padding mask of a batch, from relative wav lengths.

    Arguments
    ---------
    frontend : LatentFrontEnd
        Any front-end exposing ``output_lengths``; its conv arithmetic decides.
    wav_lens : torch.Tensor
        ``(batch,)`` SpeechBrain relative lengths of the waveforms.
    num_padded_samples : int
        Padded number of samples (``wavs.shape[1]``).

    Returns
    -------
    frame_lengths : torch.Tensor
        ``(batch,)`` number of real frames per utterance.
    padding_mask : torch.Tensor
        ``(batch, frames)`` boolean mask, ``True`` = padding, where ``frames``
        is the front-end's output length for ``num_padded_samples``.

    Example
    -------
    >>> from summarymixing.wav2vec2 import WaveformConvFrontEnd
    >>> frontend = WaveformConvFrontEnd(out_channels=8)
    >>> lengths, mask = frame_lengths_and_padding_mask(
    ...     frontend, torch.tensor([1.0, 0.5]), 16000
    ... )
    >>> lengths.tolist(), mask.shape
    ([49, 24], torch.Size([2, 49]))
    """
    num_samples = relative_to_absolute_lengths(wav_lens, num_padded_samples)
    frame_lengths = frontend.output_lengths(num_samples)
    max_frames = frontend.output_lengths(torch.tensor([num_padded_samples]))
    return frame_lengths, make_padding_mask(frame_lengths, int(max_frames[0]))


def frontend_latents(
    frontend: LatentFrontEnd, wavs: torch.Tensor, wav_lens: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run the front-end on a padded batch: latents, frame lengths, padding mask.

    The one place where relative lengths become absolute at the model's entry,
    shared by pre-training and the exported encoder.

    Arguments
    ---------
    frontend : LatentFrontEnd
        The front-end.
    wavs : torch.Tensor
        ``(batch, samples)`` zero-padded waveforms.
    wav_lens : torch.Tensor
        ``(batch,)`` SpeechBrain relative lengths.

    Returns
    -------
    latents : torch.Tensor
        ``(batch, frames, out_dim)``.
    frame_lengths : torch.Tensor
        ``(batch,)`` real frames per utterance.
    padding_mask : torch.Tensor
        ``(batch, frames)``, ``True`` on padding.

    Example
    -------
    >>> from summarymixing.wav2vec2 import WaveformConvFrontEnd
    >>> frontend = WaveformConvFrontEnd(out_channels=8)
    >>> latents, lengths, mask = frontend_latents(
    ...     frontend, torch.randn(2, 16000), torch.tensor([1.0, 0.5])
    ... )
    >>> latents.shape, lengths.tolist(), mask.shape
    (torch.Size([2, 49, 8]), [49, 24], torch.Size([2, 49]))
    """
    num_samples = relative_to_absolute_lengths(wav_lens, wavs.shape[1])
    latents = frontend(wavs, num_samples)
    frame_lengths = frontend.output_lengths(num_samples)
    return latents, frame_lengths, make_padding_mask(frame_lengths, latents.shape[1])
