"""The frozen encoder of a pre-trained model: front-end and context network.

:class:`PretrainedEncoder` is what ``load_encoder`` returns for an encoder
folder of kind ``pretrained`` or ``untrained``: the quantiser and the losses
of pre-training are left out, and the forward returns every hidden state (the
input of the first layer, then each layer's output), as MP3S needs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from summarymixing.wav2vec2.lengths import frontend_latents


class PretrainedEncoder(nn.Module):
    """Front-end + context network of a pre-trained model, without SSL heads.

    Parameters
    ----------
    frontend : torch.nn.Module
        Waveform to latent frames, with ``output_lengths(num_samples)``.
    encoder_wrapper : torch.nn.Module
        A ``W2V2EncoderWrapper`` whose encoder returns hidden states.
    description : dict
        What ``encoder.json`` says about the model.

    Example
    -------
    >>> from summarymixing.wav2vec2 import FbankConvFrontEnd, W2V2EncoderWrapper
    >>> from summarymixing import ConformerEncoder
    >>> encoder = ConformerEncoder(2, 32, 64, 2, output_hidden_states=True)
    >>> model = PretrainedEncoder(
    ...     FbankConvFrontEnd(out_channels=16), W2V2EncoderWrapper(16, 32, encoder), {}
    ... ).eval()
    >>> states, padding = model(torch.randn(2, 8000), torch.tensor([1.0, 0.5]))
    >>> len(states), tuple(states[0].shape), padding.shape
    (3, (2, 26, 32), torch.Size([2, 26]))
    """

    def __init__(
        self,
        frontend: nn.Module,
        encoder_wrapper: nn.Module,
        description: dict[str, Any],
    ) -> None:
        super().__init__()
        self.frontend = frontend
        self.encoder_wrapper = encoder_wrapper
        self.description = description

    def forward(
        self, wavs: torch.Tensor, wav_lens: torch.Tensor
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Return all hidden states and the frame padding mask (True = padded).

        Parameters
        ----------
        wavs : torch.Tensor
            ``(batch, samples)`` zero-padded 16 kHz waveforms.
        wav_lens : torch.Tensor
            ``(batch,)`` SpeechBrain relative lengths.

        Returns
        -------
        hidden_states : list of torch.Tensor
            ``num_layers + 1`` tensors of shape ``(batch, frames, d_model)``.
        padding_mask : torch.Tensor
            ``(batch, frames)`` bool, True on padded frames.
        """
        latents, _, padding_mask = frontend_latents(self.frontend, wavs, wav_lens)
        output = self.encoder_wrapper(latents, padding_mask)
        if output.hidden_states is None:
            raise ValueError(
                f"{type(self.encoder_wrapper.encoder).__name__} returns no hidden "
                "states; build it with output_hidden_states: true"
            )
        return list(output.hidden_states), padding_mask

    def output_lengths(self, num_samples: torch.Tensor) -> torch.Tensor:
        """Return the number of output frames for each number of input samples."""
        return self.frontend.output_lengths(num_samples)


def disable_layerdrop(model: nn.Module) -> None:
    """Set every ``layerdrop_prob`` in ``model`` to 0, in training mode too.

    Example
    -------
    >>> from summarymixing import ConformerEncoder
    >>> encoder = ConformerEncoder(2, 32, 64, 2, layerdrop_prob=0.5)
    >>> disable_layerdrop(encoder)
    >>> encoder.layerdrop_prob
    0.0
    """
    for module in model.modules():
        if hasattr(module, "layerdrop_prob"):
            module.layerdrop_prob = 0.0
