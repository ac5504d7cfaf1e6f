"""The FBANK baseline of MP3S: log-mel features as the only hidden state.

SUPERB-style tables report, beside each pre-trained encoder, the same probe on
the features the encoder starts from.
:class:`FbankUpstream` gives exactly what our Fbank front-end receives
(:class:`summarymixing.wav2vec2.LogMelFilterbank`: 80 log-mel filterbanks, 25
ms / 10 ms, dB floored over real frames, per-utterance mean/variance
normalisation) with the call of an encoder: ``upstream(wavs, wav_lens) ->
(hidden_states, padding_mask)``, one hidden state at 10 ms frames.

Mind the probe: per-utterance normalisation makes the time average of every
feature zero, so a probe that averages over time before a linear layer (the
IEMOCAP and SLURP ``linear`` probes) sees only zeros and learns the class
prior; probes with a frame-level network before the pooling do not.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from summarymixing.padding import make_padding_mask, relative_to_absolute_lengths
from summarymixing.wav2vec2.log_mel import LogMelFilterbank


class FbankUpstream(nn.Module):
    """Normalised log-mel filterbanks, no encoder: one hidden state, 10 ms frames.

    It has no parameters. Padded frames are zero and the features of a padded
    batch equal those of each utterance alone.

    Parameters
    ----------
    sample_rate : int
        Expected sampling rate in Hz.
    n_mels : int
        Number of mel filters (the feature dimension).
    description : dict, optional
        What the folder's ``encoder.json`` says; by default the facts of this
        upstream (kind ``fbank``, one hidden state, the frame rate).

    Attributes
    ----------
    num_hidden_states : int
        Always 1.

    Example
    -------
    >>> upstream = FbankUpstream()
    >>> states, padding = upstream(torch.randn(2, 16000), torch.tensor([1.0, 0.5]))
    >>> len(states), tuple(states[0].shape), (~padding).sum(1).tolist()
    (1, (2, 101, 80), [101, 51])
    >>> upstream.description["num_hidden_states"], upstream.description["kind"]
    (1, 'fbank')
    """

    num_hidden_states = 1

    def __init__(
        self,
        sample_rate: int = 16000,
        n_mels: int = 80,
        description: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.fbank = LogMelFilterbank(n_mels=n_mels, sample_rate=sample_rate)
        self.description = description or {
            "kind": "fbank",
            "num_hidden_states": self.num_hidden_states,
            "n_mels": n_mels,
            "sample_rate": sample_rate,
            "frame_rate_hz": self.fbank.frame_rate,
        }

    def forward(
        self, wavs: torch.Tensor, wav_lens: torch.Tensor
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Return ``[log_mels]`` and the 10 ms frame padding mask.

        Parameters
        ----------
        wavs : torch.Tensor
            ``(batch, samples)`` zero-padded waveforms.
        wav_lens : torch.Tensor
            ``(batch,)`` SpeechBrain relative lengths.

        Returns
        -------
        hidden_states : list of torch.Tensor
            One ``(batch, frames, n_mels)`` tensor, zero on padded frames.
        padding_mask : torch.Tensor
            ``(batch, frames)`` bool, ``True`` on padded frames.
        """
        num_samples = relative_to_absolute_lengths(wav_lens, wavs.shape[1])
        features = self.fbank(wavs, num_samples)
        frames = self.fbank.output_lengths(num_samples).to(features.device)
        return [features], make_padding_mask(frames, features.shape[1])

    def output_lengths(self, num_samples: torch.Tensor) -> torch.Tensor:
        """Return the number of 10 ms frames for each number of input samples."""
        return self.fbank.output_lengths(num_samples)
