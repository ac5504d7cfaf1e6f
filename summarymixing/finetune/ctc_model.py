"""An exported encoder with a CTC head, masked the wav2vec 2.0 way while training.

wav2vec 2.0 fine-tunes with the pre-training's masking as data augmentation:
spans of frames (``mask_prob``, ``mask_length``) replaced by the learned mask
vector of the context network, and spans of channels set to zero
(``channel_mask_prob``, ``channel_mask_length``). fairseq masks the channels
of the projected features (``d_model``); here they are masked on the
front-end's latents, before the projection that the context network owns, so
that the exported wrapper is used as it is. Masking happens in training mode
only; evaluation sees the whole input.

The pre-training's output projection (to the quantised targets) is not used
and does not learn. The front-end stays frozen (``train_frontend: false``, fairseq's
``feature_grad_mult`` 0): its parameters do not require gradients and it runs
without building a graph. While ``encoder_frozen`` is set, the context network
runs without a graph too, so that only the head learns (the first updates of
fairseq's recipe); a zero term of its parameters is added to its output so
that DDP, which reduces the gradient of every parameter that requires one,
finds each of them used (their gradients are zero, and the Brain leaves the
encoder's optimiser out of those updates).
"""

from __future__ import annotations

import torch
from torch import nn

from summarymixing.encoders.layer_stack import zero_parameter_term
from summarymixing.export.pretrained_encoder import PretrainedEncoder
from summarymixing.wav2vec2.lengths import frontend_latents
from summarymixing.wav2vec2.masking import compute_span_mask


class CTCFineTuner(nn.Module):
    """Front-end + context network + ``Linear(d_model, vocab_size)``.

    Parameters
    ----------
    encoder : PretrainedEncoder
        From :func:`summarymixing.export.load_encoder`.
    vocab_size : int
        Output tokens, the CTC blank included.
    mask_prob, mask_length : float, int
        Time masking (0 turns it off).
    channel_mask_prob, channel_mask_length : float, int
        Channel masking of the latents (0 turns it off).
    final_dropout : float
        Dropout before the head.
    train_frontend : bool
        Whether the convolutional front-end learns (fairseq: never).

    Example
    -------
    >>> from summarymixing import ConformerEncoder
    >>> from summarymixing.wav2vec2 import FbankConvFrontEnd, W2V2EncoderWrapper
    >>> encoder = PretrainedEncoder(FbankConvFrontEnd(out_channels=16),
    ...     W2V2EncoderWrapper(16, 32, ConformerEncoder(2, 32, 64, 2)), {})
    >>> model = CTCFineTuner(encoder, vocab_size=30, channel_mask_length=4)
    >>> logits, padding = model(torch.randn(2, 16000), torch.tensor([1.0, 0.5]))
    >>> tuple(logits.shape), (~padding).sum(1).tolist()
    ((2, 51, 30), [51, 26])
    >>> any(p.requires_grad for p in model.encoder.frontend.parameters())
    False
    """

    def __init__(
        self,
        encoder: PretrainedEncoder,
        vocab_size: int,
        mask_prob: float = 0.65,
        mask_length: int = 10,
        channel_mask_prob: float = 0.5,
        channel_mask_length: int = 64,
        final_dropout: float = 0.0,
        train_frontend: bool = False,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        d_model = encoder.encoder_wrapper.input_proj.out_features
        self.head = nn.Linear(d_model, vocab_size)
        self.dropout = nn.Dropout(final_dropout)
        self.mask_prob, self.mask_length = mask_prob, mask_length
        self.channel_mask_prob = channel_mask_prob
        self.channel_mask_length = channel_mask_length
        self.train_frontend = train_frontend
        self.encoder_frozen = False
        encoder.frontend.requires_grad_(train_frontend)
        projection = getattr(encoder.encoder_wrapper, "output_proj", None)
        if projection is not None:  # pre-training's target projection: unused
            projection.requires_grad_(False)

    def forward(
        self, wavs: torch.Tensor, wav_lens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(batch, frames, vocab)`` logits and the padding mask."""
        with torch.set_grad_enabled(self.train_frontend and torch.is_grad_enabled()):
            latents, lengths, padding = frontend_latents(
                self.encoder.frontend, wavs, wav_lens
            )
        mask = None
        if self.training:
            latents = self.mask_channels(latents)
            if self.mask_prob > 0:
                mask = compute_span_mask(
                    lengths, latents.shape[1], self.mask_prob, self.mask_length
                ).to(latents.device)
        wrapper = self.encoder.encoder_wrapper
        frozen = self.encoder_frozen and torch.is_grad_enabled()
        with torch.set_grad_enabled(not frozen and torch.is_grad_enabled()):
            encoded = wrapper(latents, padding, mask=mask).encoded
        if frozen:  # DDP reduces every parameter's gradient: give them zeros
            encoded = encoded + zero_parameter_term(wrapper)
        return self.head(self.dropout(encoded)), padding

    def mask_channels(self, latents: torch.Tensor) -> torch.Tensor:
        """Zero spans of latent channels, drawn per utterance."""
        if self.channel_mask_prob <= 0:
            return latents
        batch, _, channels = latents.shape
        length = min(self.channel_mask_length, channels)
        spans = torch.full((batch,), channels, dtype=torch.long)
        masked = compute_span_mask(spans, channels, self.channel_mask_prob, length)
        return latents.masked_fill(masked.to(latents.device)[:, None, :], 0.0)
