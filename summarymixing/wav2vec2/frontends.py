"""Front-ends turning 16 kHz waveforms into 20 ms latents for wav2vec 2.0.

Two front-ends share one contract (see :class:`~.lengths.LatentFrontEnd`):
``forward(wavs, num_samples) -> latents`` of shape ``(batch, frames, out_dim)``
and ``output_lengths(num_samples) -> frames``, computed from the modules' own
convolution arithmetic. Both are exactly padding-invariant: the latents of a
padded batch equal those of each utterance run alone, on every real frame.

* :class:`FbankConvFrontEnd` is the SummaryMixing paper's: 80 log-mel
  filterbanks (25 ms / 10 ms), per-utterance mean/variance normalisation
  (:class:`~.log_mel.LogMelFilterbank`), then two Conv1d (k=3, s=2; k=3,
  s=1) each followed by LayerNorm and GELU.
* :class:`WaveformConvFrontEnd` is the original wav2vec 2.0 raw-waveform CNN
  (kernels 10,3,3,3,3,2,2; strides 5,2,2,2,2,2,2).

Both end with a LayerNorm over channels (wav2vec 2.0's feature normalisation):
the quantiser and the context network both read these normalised latents.
"""

from collections.abc import Sequence

import torch

from summarymixing.wav2vec2.frontend_layers import (
    ConvLayerStack,
    masked_mean_variance_normalise,
)
from summarymixing.wav2vec2.log_mel import LogMelFilterbank


class FbankConvFrontEnd(ConvLayerStack):
    """Log-mel filterbanks, per-utterance normalisation, then a small CNN.

    The features are those of :class:`~.log_mel.LogMelFilterbank` (its own
    module, so that the FBANK baseline of MP3S probes exactly what this
    front-end receives); it holds no state, so the ``state_dict`` is the CNN's.

    Arguments
    ---------
    n_mels : int
        Number of mel filters.
    out_channels : int
        Channels of every conv layer (the latent dimension).
    kernel_sizes : Sequence[int]
        Kernel size of each conv layer ("same" zero padding, ``k // 2``).
    strides : Sequence[int]
        Stride of each conv layer; 2 then 1 turns 10 ms frames into 20 ms.
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
    >>> frontend = FbankConvFrontEnd(out_channels=16)
    >>> num_samples = torch.tensor([16000, 8000])
    >>> latents = frontend(torch.randn(2, 16000), num_samples)
    >>> latents.shape, frontend.output_lengths(num_samples).tolist()
    (torch.Size([2, 51, 16]), [51, 26])
    """

    def __init__(
        self,
        n_mels: int = 80,
        out_channels: int = 512,
        kernel_sizes: Sequence[int] = (3, 3),
        strides: Sequence[int] = (2, 1),
        sample_rate: int = 16000,
        win_length: float = 25.0,
        hop_length: float = 10.0,
        n_fft: int = 400,
        top_db: float = 80.0,
    ):
        super().__init__(
            n_mels, out_channels, list(kernel_sizes), list(strides), True, True
        )
        self.fbank = LogMelFilterbank(
            n_mels, sample_rate, win_length, hop_length, n_fft, top_db
        )

    def fbank_lengths(self, num_samples: torch.Tensor) -> torch.Tensor:
        """Return the number of 10 ms filterbank frames (``torch.stft``'s arithmetic).

        Arguments
        ---------
        num_samples : torch.Tensor
            Number of samples per utterance.

        Returns
        -------
        torch.Tensor
            Number of STFT frames per utterance.
        """
        return self.fbank.output_lengths(num_samples)

    def output_lengths(self, num_samples: torch.Tensor) -> torch.Tensor:
        """Return the number of latent frames for each number of samples.

        Arguments
        ---------
        num_samples : torch.Tensor
            Number of samples per utterance.

        Returns
        -------
        torch.Tensor
            Number of latent frames per utterance.
        """
        return self.conv_output_lengths(self.fbank_lengths(num_samples))

    def log_mel(self, wavs: torch.Tensor, num_samples: torch.Tensor) -> torch.Tensor:
        """Normalised log-mel filterbanks ``(batch, frames, n_mels)``, fp32.

        Arguments
        ---------
        wavs : torch.Tensor
            ``(batch, samples)`` zero-padded waveforms.
        num_samples : torch.Tensor
            ``(batch,)`` number of real samples.

        Returns
        -------
        torch.Tensor
            Features, zeros on padded frames.
        """
        return self.fbank(wavs, num_samples)

    def forward(self, wavs: torch.Tensor, num_samples: torch.Tensor) -> torch.Tensor:
        """Compute latents ``(batch, frames, out_channels)``, zeros on padding.

        Arguments
        ---------
        wavs : torch.Tensor
            ``(batch, samples)`` zero-padded 16 kHz waveforms.
        num_samples : torch.Tensor
            ``(batch,)`` number of real samples per utterance.

        Returns
        -------
        torch.Tensor
            Latents, with ``output_lengths(num_samples)`` real frames each.
        """
        features = self.log_mel(wavs, num_samples)
        return self.run_convs(features, self.fbank_lengths(num_samples))


class WaveformConvFrontEnd(ConvLayerStack):
    """The original wav2vec 2.0 CNN on raw waveforms (20 ms, 25 ms receptive field).

    Each layer is a bias-free valid convolution, LayerNorm over channels and
    GELU (wav2vec 2.0's "layer_norm" extractor of the large models). The base
    model's GroupNorm over time is not used because it mixes padding into the
    statistics. Waveforms are first normalised per utterance over their real
    samples (SpeechBrain's ``W2VLatentExtractor`` includes padding).

    Arguments
    ---------
    out_channels : int
        Channels of every conv layer.
    kernel_sizes : Sequence[int]
        Kernel sizes (valid convolutions, no padding).
    strides : Sequence[int]
        Strides.
    normalise_waveform : bool
        Whether to normalise each waveform to zero mean and unit variance.

    Example
    -------
    >>> frontend = WaveformConvFrontEnd(out_channels=16)
    >>> num_samples = torch.tensor([16000, 4000])
    >>> latents = frontend(torch.randn(2, 16000), num_samples)
    >>> latents.shape, frontend.output_lengths(num_samples).tolist()
    (torch.Size([2, 49, 16]), [49, 12])
    """

    def __init__(
        self,
        out_channels: int = 512,
        kernel_sizes: Sequence[int] = (10, 3, 3, 3, 3, 2, 2),
        strides: Sequence[int] = (5, 2, 2, 2, 2, 2, 2),
        normalise_waveform: bool = True,
    ):
        super().__init__(
            1, out_channels, list(kernel_sizes), list(strides), False, False
        )
        self.normalise_waveform = normalise_waveform

    def output_lengths(self, num_samples: torch.Tensor) -> torch.Tensor:
        """Return the number of latent frames for each number of samples.

        Arguments
        ---------
        num_samples : torch.Tensor
            Number of samples per utterance.

        Returns
        -------
        torch.Tensor
            Number of latent frames per utterance (0 below the receptive field).
        """
        return self.conv_output_lengths(num_samples)

    def forward(self, wavs: torch.Tensor, num_samples: torch.Tensor) -> torch.Tensor:
        """Compute latents ``(batch, frames, out_channels)``, zeros on padding.

        Arguments
        ---------
        wavs : torch.Tensor
            ``(batch, samples)`` zero-padded 16 kHz waveforms.
        num_samples : torch.Tensor
            ``(batch,)`` number of real samples per utterance.

        Returns
        -------
        torch.Tensor
            Latents, with ``output_lengths(num_samples)`` real frames each.
        """
        if self.normalise_waveform:
            wavs = masked_mean_variance_normalise(wavs.float(), num_samples)
        return self.run_convs(wavs.unsqueeze(-1), num_samples)
