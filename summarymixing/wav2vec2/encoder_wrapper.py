"""Context network of wav2vec 2.0 around any encoder.

:class:`W2V2EncoderWrapper` turns latents into context vectors ``c_t``:
``Linear(latent_dim, d_model)`` -> dropout -> masked frames replaced by a
learned vector -> padded frames zeroed -> ``x + positional(x)`` -> LayerNorm
-> any encoder (``encoder(x, src_key_padding_mask=mask)``, ``True`` = padded,
returning ``(output, attention)`` or ``(output, attention, hidden_states)``,
as SpeechBrain's and our Conformer do) -> ``Linear(d_model, out_dim)``.

The order (dropout, then mask vector) and the LayerNorm after the positional
embedding follow wav2vec 2.0. Padded frames are zeroed before the positional
convolution and again before the encoder, so they never leak into real ones.
"""

from typing import NamedTuple

import torch
from torch import nn

from summarymixing.wav2vec2.positional import ConvPositionalEmbedding


class EncoderOutput(NamedTuple):
    """What :class:`W2V2EncoderWrapper` returns.

    Attributes
    ----------
    context : torch.Tensor
        ``(batch, time, out_dim)`` context vectors ``c_t``.
    encoded : torch.Tensor
        ``(batch, time, d_model)`` encoder output.
    hidden_states : list[torch.Tensor] or None
        The encoder's hidden states, when it returns them.
    """

    context: torch.Tensor
    encoded: torch.Tensor
    hidden_states: list[torch.Tensor] | None


class W2V2EncoderWrapper(nn.Module):
    """Projection, mask vector, positional embedding, encoder, output projection.

    Arguments
    ---------
    latent_dim : int
        Dimension of the front-end latents.
    d_model : int
        Dimension of the encoder.
    encoder : torch.nn.Module
        Called as ``encoder(x, src_key_padding_mask=padding_mask)``.
    out_dim : int
        Dimension of ``c_t`` (must match the quantiser's output).
    dropout : float
        Dropout after the input projection.
    positional_encoding : torch.nn.Module, optional
        Maps zero-padded ``(batch, time, d_model)`` to something added to it;
        defaults to :class:`~.positional.ConvPositionalEmbedding`.

    Example
    -------
    >>> from speechbrain.lobes.models.transformer.Conformer import ConformerEncoder
    >>> encoder = ConformerEncoder(
    ...     num_layers=1, d_model=32, d_ffn=64, nhead=2, attention_type="regularMHA"
    ... )
    >>> wrapper = W2V2EncoderWrapper(16, 32, encoder, out_dim=8)
    >>> padding = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    >>> out = wrapper(torch.randn(2, 6, 16), padding, mask=~padding)
    >>> out.context.shape, out.encoded.shape
    (torch.Size([2, 6, 8]), torch.Size([2, 6, 32]))
    """

    def __init__(
        self,
        latent_dim: int,
        d_model: int,
        encoder: nn.Module,
        out_dim: int = 256,
        dropout: float = 0.1,
        positional_encoding: nn.Module | None = None,
    ):
        super().__init__()
        self.input_proj = nn.Linear(latent_dim, d_model)
        self.dropout = nn.Dropout(dropout)
        self.mask_embedding = nn.Parameter(torch.empty(d_model).uniform_())
        if positional_encoding is None:
            positional_encoding = ConvPositionalEmbedding(d_model)
        self.positional_encoding = positional_encoding
        self.input_norm = nn.LayerNorm(d_model)
        self.encoder = encoder
        self.output_proj = nn.Linear(d_model, out_dim)

    def embed(
        self,
        latents: torch.Tensor,
        padding_mask: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Build the encoder input from latents; padded frames are zero.

        Arguments
        ---------
        latents : torch.Tensor
            ``(batch, time, latent_dim)``.
        padding_mask : torch.Tensor, optional
            ``(batch, time)``, ``True`` on padding.
        mask : torch.Tensor, optional
            ``(batch, time)``, ``True`` on frames replaced by the mask vector.

        Returns
        -------
        torch.Tensor
            ``(batch, time, d_model)``.
        """
        x = self.dropout(self.input_proj(latents))
        if mask is not None:
            x = torch.where(mask.unsqueeze(-1), self.mask_embedding.to(x.dtype), x)
        padding = None if padding_mask is None else padding_mask.unsqueeze(-1)
        if padding is not None:
            x = x.masked_fill(padding, 0.0)
        x = self.input_norm(x + self.positional_encoding(x))
        return x if padding is None else x.masked_fill(padding, 0.0)

    def forward(
        self,
        latents: torch.Tensor,
        padding_mask: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> EncoderOutput:
        """Compute context vectors; see :meth:`embed` for the arguments.

        Arguments
        ---------
        latents : torch.Tensor
            ``(batch, time, latent_dim)``.
        padding_mask : torch.Tensor, optional
            ``(batch, time)``, ``True`` on padding.
        mask : torch.Tensor, optional
            ``(batch, time)``, ``True`` on masked frames.

        Returns
        -------
        EncoderOutput
            Context vectors, encoder output and hidden states.
        """
        outputs = self.encoder(
            self.embed(latents, padding_mask, mask), src_key_padding_mask=padding_mask
        )
        if not isinstance(outputs, tuple) or len(outputs) not in (2, 3):
            raise ValueError(
                f"The encoder {type(self.encoder).__name__} must return "
                "(output, attention_list) or (output, attention_list, "
                "hidden_states), like SpeechBrain's ConformerEncoder."
            )
        hidden_states = outputs[2] if len(outputs) == 3 else None
        return EncoderOutput(self.output_proj(outputs[0]), outputs[0], hidden_states)
