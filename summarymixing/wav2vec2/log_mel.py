"""Normalised log-mel filterbanks, the features the Fbank front-end receives.

:class:`LogMelFilterbank` computes 80 log-mel filterbanks on 25 ms windows
every 10 ms, in dB with a floor ``top_db`` below the utterance maximum, then
normalises each utterance to zero mean and unit variance. The maximum and the
statistics are taken over real frames only, so the features of a padded batch
equal those of each utterance alone. It holds no parameters or buffers: a
module that owns one (:class:`~.frontends.FbankConvFrontEnd`) keeps its
``state_dict`` keys unchanged.
"""

import torch
from speechbrain.processing.features import STFT, Filterbank, spectral_magnitude
from torch import nn

from summarymixing.padding import make_padding_mask
from summarymixing.wav2vec2.frontend_layers import masked_mean_variance_normalise


class LogMelFilterbank(nn.Module):
    """Per-utterance normalised log-mel filterbanks, exact under padding.

    SpeechBrain's ``STFT`` and ``Filterbank`` are reused. The dB conversion is
    SpeechBrain ``Fbank``'s (``10 log10``, floor at ``top_db`` below the
    utterance maximum), except that the maximum is taken over real frames
    only: ``Fbank`` takes it over padding too, which can change the features
    of a padded utterance. Mean/variance normalisation also ignores padding.
    Features are computed in fp32 even under autocast.

    Parameters
    ----------
    n_mels : int
        Number of mel filters.
    sample_rate : int
        Expected sampling rate in Hz.
    win_length : float
        STFT window in ms.
    hop_length : float
        STFT hop in ms.
    n_fft : int
        FFT size.
    top_db : float
        Dynamic range kept below each utterance's maximum, in dB.

    Example
    -------
    >>> fbank = LogMelFilterbank()
    >>> num_samples = torch.tensor([16000, 8000])
    >>> features = fbank(torch.randn(2, 16000), num_samples)
    >>> features.shape, fbank.output_lengths(num_samples).tolist(), fbank.frame_rate
    (torch.Size([2, 101, 80]), [101, 51], 100.0)
    """

    def __init__(
        self,
        n_mels: int = 80,
        sample_rate: int = 16000,
        win_length: float = 25.0,
        hop_length: float = 10.0,
        n_fft: int = 400,
        top_db: float = 80.0,
    ) -> None:
        super().__init__()
        self.n_mels = n_mels
        self.sample_rate = sample_rate
        self.stft = STFT(
            sample_rate=sample_rate,
            win_length=win_length,
            hop_length=hop_length,
            n_fft=n_fft,
        )
        self.filterbank = Filterbank(
            n_mels=n_mels,
            log_mel=False,
            n_fft=n_fft,
            sample_rate=sample_rate,
            f_max=sample_rate // 2,
        )
        self.top_db = top_db

    @property
    def frame_rate(self) -> float:
        """Frames per second (100.0 for the 10 ms hop at 16 kHz)."""
        return self.sample_rate / self.stft.hop_length

    def output_lengths(self, num_samples: torch.Tensor) -> torch.Tensor:
        """Return the number of frames (``torch.stft``'s arithmetic).

        Parameters
        ----------
        num_samples : torch.Tensor
            Number of samples per utterance.

        Returns
        -------
        torch.Tensor
            Number of STFT frames per utterance.

        Example
        -------
        >>> LogMelFilterbank().output_lengths(torch.tensor([16000, 400])).tolist()
        [101, 3]
        """
        n_fft, hop = self.stft.n_fft, self.stft.hop_length
        padded = num_samples + (2 * (n_fft // 2) if self.stft.center else 0)
        return ((padded - n_fft) // hop + 1).clamp(min=0)

    def forward(self, wavs: torch.Tensor, num_samples: torch.Tensor) -> torch.Tensor:
        """Normalised log-mel filterbanks ``(batch, frames, n_mels)``, fp32.

        Parameters
        ----------
        wavs : torch.Tensor
            ``(batch, samples)`` zero-padded waveforms.
        num_samples : torch.Tensor
            ``(batch,)`` number of real samples.

        Returns
        -------
        torch.Tensor
            Features, zeros on padded frames.
        """
        with torch.autocast(device_type=wavs.device.type, enabled=False):
            power = spectral_magnitude(self.stft(wavs.float()))
            decibels = 10.0 * torch.log10(self.filterbank(power).clamp(min=1e-10))
            lengths = self.output_lengths(num_samples)
            padding = make_padding_mask(lengths, decibels.shape[1]).unsqueeze(-1)
            peak = decibels.masked_fill(padding, float("-inf")).amax(dim=(1, 2))
            decibels = torch.maximum(decibels, (peak - self.top_db).view(-1, 1, 1))
            return masked_mean_variance_normalise(decibels, lengths)
