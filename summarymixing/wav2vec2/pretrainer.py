"""The wav2vec 2.0 pre-training objective as one ``nn.Module``.

:class:`W2V2Pretrainer` bundles front-end, quantiser, context network, span
masking, distractor sampling and losses; its ``forward`` returns a training
step's loss terms and statistics, ready for DDP. As in wav2vec 2.0, the
quantiser reads the *unmasked* latents, layer-normalised by the front-end and
**not detached**: the contrastive and diversity losses train the front-end
through the targets as well as through the context network. Distractors are
drawn from the masked frames of the same utterance, as in the paper.
"""

import torch
from torch import nn

from summarymixing.padding import relative_to_absolute_lengths
from summarymixing.wav2vec2.encoder_wrapper import EncoderOutput, W2V2EncoderWrapper
from summarymixing.wav2vec2.gradient_scale import scale_gradient
from summarymixing.wav2vec2.lengths import LatentFrontEnd, frontend_latents
from summarymixing.wav2vec2.losses import (
    contrastive_logits,
    contrastive_loss,
    diversity_loss,
)
from summarymixing.wav2vec2.masking import compute_span_mask
from summarymixing.wav2vec2.negatives import sample_distractors
from summarymixing.wav2vec2.quantiser import GumbelProductQuantiser


class W2V2Pretrainer(nn.Module):
    """The whole wav2vec 2.0 objective as one module, ``forward -> losses``.

    Arguments
    ---------
    frontend : LatentFrontEnd
        E.g. :class:`~.frontends.FbankConvFrontEnd`.
    encoder_wrapper : W2V2EncoderWrapper
        Context network.
    quantiser : GumbelProductQuantiser
        Target quantiser.
    mask_prob : float
        Span-start probability times span length (see :mod:`.masking`).
    span_length : int
        Frames per masked span.
    num_distractors : int
        ``K`` distractors per masked frame, from masked frames of the same
        utterance.
    logit_temperature : float
        Temperature of the contrastive logits.
    diversity_weight : float
        Weight of the diversity loss (scaled by the number of masked frames).
    frontend_grad_scale : float
        Factor on the gradient that reaches the front-end (fairseq's
        ``feature_grad_mult``); 1 trains it fully. 0 freezes it: its
        parameters stop requiring gradients, so AdamW neither moves nor
        decays them. Any factor in between is nearly cancelled by Adam's
        per-parameter normalisation (see :mod:`.gradient_scale`).

    Example
    -------
    >>> from speechbrain.lobes.models.transformer.Conformer import ConformerEncoder
    >>> from summarymixing.wav2vec2 import FbankConvFrontEnd, W2V2EncoderWrapper
    >>> encoder = ConformerEncoder(
    ...     num_layers=1, d_model=32, d_ffn=64, nhead=2, attention_type="regularMHA"
    ... )
    >>> model = W2V2Pretrainer(
    ...     FbankConvFrontEnd(out_channels=16),
    ...     W2V2EncoderWrapper(16, 32, encoder, out_dim=8),
    ...     GumbelProductQuantiser(input_dim=16, num_codewords=8, out_dim=8),
    ...     num_distractors=5,
    ... )
    >>> out = model(torch.randn(2, 8000), torch.tensor([1.0, 0.6]))
    >>> bool(out["loss"].isfinite()), out["num_masked"].item() > 0
    (True, True)
    """

    def __init__(
        self,
        frontend: LatentFrontEnd,
        encoder_wrapper: W2V2EncoderWrapper,
        quantiser: GumbelProductQuantiser,
        mask_prob: float = 0.65,
        span_length: int = 10,
        num_distractors: int = 100,
        logit_temperature: float = 0.1,
        diversity_weight: float = 0.1,
        frontend_grad_scale: float = 1.0,
    ):
        super().__init__()
        if not frontend_grad_scale >= 0:
            raise ValueError(
                f"frontend_grad_scale must be >= 0 (0 freezes the front-end, 1 "
                f"trains it fully), got {frontend_grad_scale!r}."
            )
        latent_dim = encoder_wrapper.input_proj.in_features
        if frontend.out_dim != latent_dim or quantiser.logits_proj.in_features != (
            latent_dim
        ):
            raise ValueError(
                f"The front-end gives {frontend.out_dim}-dim latents but the "
                f"encoder wrapper expects {latent_dim} and the quantiser "
                f"{quantiser.logits_proj.in_features}; make them equal."
            )
        if (
            quantiser.output_proj.out_features
            != encoder_wrapper.output_proj.out_features
        ):
            raise ValueError(
                f"The quantiser's out_dim ({quantiser.output_proj.out_features}) "
                "must equal the encoder wrapper's out_dim "
                f"({encoder_wrapper.output_proj.out_features})."
            )
        self.frontend = frontend
        self.encoder_wrapper = encoder_wrapper
        self.quantiser = quantiser
        self.mask_prob = mask_prob
        self.span_length = span_length
        self.num_distractors = num_distractors
        self.logit_temperature = logit_temperature
        self.diversity_weight = diversity_weight
        self.frontend_grad_scale = frontend_grad_scale
        if frontend_grad_scale == 0:
            self.frontend.requires_grad_(False)

    def latents(
        self, wavs: torch.Tensor, wav_lens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Compute front-end latents and their padding mask.

        Arguments
        ---------
        wavs : torch.Tensor
            ``(batch, samples)`` zero-padded waveforms.
        wav_lens : torch.Tensor
            ``(batch,)`` SpeechBrain relative lengths.

        Returns
        -------
        latents : torch.Tensor
            ``(batch, frames, latent_dim)``.
        padding_mask : torch.Tensor
            ``(batch, frames)``, ``True`` on padding.
        """
        num_samples = relative_to_absolute_lengths(wav_lens, wavs.shape[1])
        frame_lengths = self.frontend.output_lengths(num_samples)
        if bool((frame_lengths < 2).any()):
            raise ValueError(
                f"Waveforms of {num_samples.tolist()} samples give "
                f"{frame_lengths.tolist()} frames; pre-training needs at least 2 "
                "frames per utterance. Filter out very short files."
            )
        latents, _, padding_mask = frontend_latents(self.frontend, wavs, wav_lens)
        if self.training and self.frontend_grad_scale > 0:
            latents = scale_gradient(latents, self.frontend_grad_scale)
        return latents, padding_mask

    def encode(self, wavs: torch.Tensor, wav_lens: torch.Tensor) -> EncoderOutput:
        """Run the context network without masking (feature extraction).

        Arguments
        ---------
        wavs : torch.Tensor
            ``(batch, samples)`` zero-padded waveforms.
        wav_lens : torch.Tensor
            ``(batch,)`` SpeechBrain relative lengths.

        Returns
        -------
        EncoderOutput
            Context vectors, encoder output and hidden states.
        """
        latents, padding_mask = self.latents(wavs, wav_lens)
        return self.encoder_wrapper(latents, padding_mask)

    def forward(
        self,
        wavs: torch.Tensor,
        wav_lens: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Compute the pre-training losses and statistics of one batch.

        Arguments
        ---------
        wavs : torch.Tensor
            ``(batch, samples)`` zero-padded 16 kHz waveforms.
        wav_lens : torch.Tensor
            ``(batch,)`` SpeechBrain relative lengths.
        mask : torch.Tensor, optional
            ``(batch, frames)`` span mask to use instead of drawing one.

        Returns
        -------
        dict[str, torch.Tensor]
            ``loss`` (= ``contrastive + diversity``, summed over masked frames,
            see :mod:`.losses`), ``contrastive``, ``diversity``, ``accuracy``,
            ``perplexity``, ``codes_used``, ``temperature``, ``num_masked``,
            ``masked_ratio`` (masked / real frames).
        """
        latents, padding_mask = self.latents(wavs, wav_lens)
        frame_lengths = (~padding_mask).sum(dim=1)
        if mask is None:
            mask = compute_span_mask(
                frame_lengths, latents.shape[1], self.mask_prob, self.span_length
            )
        targets = self.quantiser(latents, padding_mask)
        context = self.encoder_wrapper(latents, padding_mask, mask).context
        distractor_index = sample_distractors(mask, mask, self.num_distractors)
        logits = contrastive_logits(
            context,
            targets.quantised,
            targets.codes,
            mask,
            distractor_index,
            self.logit_temperature,
        )
        contrastive, accuracy = contrastive_loss(logits)
        num_masked = mask.sum()
        diversity = diversity_loss(
            targets.perplexity,
            self.quantiser.total_codewords,
            num_masked,
            self.diversity_weight,
        )
        return {
            "loss": contrastive + diversity,
            "contrastive": contrastive,
            "diversity": diversity,
            "accuracy": accuracy,
            "perplexity": targets.perplexity,
            "codes_used": targets.codes_used,
            "temperature": torch.tensor(targets.temperature, device=wavs.device),
            "num_masked": num_masked,
            "masked_ratio": num_masked / frame_lengths.sum(),
        }
