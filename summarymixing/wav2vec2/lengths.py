"""Frame lengths and padding masks of a front-end's output.

The conventions (absolute lengths, masks ``True`` on padding) and the generic
helpers are :mod:`summarymixing.padding`'s; what this module adds is where
the wav2vec 2.0 model meets them: relative waveform lengths become absolute
once, at the model's entry, and frame counts always come from the
front-end's own conv arithmetic (:meth:`output_lengths`), never from numbers
repeated in a YAML file.
"""

from typing import Protocol

import torch

from summarymixing.padding import make_padding_mask, relative_to_absolute_lengths

__all__ = [
    "LatentFrontEnd",
    "frame_lengths_and_padding_mask",
    "frontend_latents",
    "make_padding_mask",
    "relative_to_absolute_lengths",
]


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
