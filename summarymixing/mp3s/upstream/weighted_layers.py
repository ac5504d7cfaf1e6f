"""Frozen upstream encoder and the learned softmax-weighted sum of its layers.

MP3S probes a self-supervised model without fine-tuning it: the upstream is
frozen, and the probe sees a single feature sequence

    features_t = sum_l softmax(w)_l * h^(l)_t

where ``h^(0)`` is the input of the first layer and ``h^(1..L)`` are the
outputs of the ``L`` layers. The logits ``w`` start at zero (a uniform
average) and are the only trainable parameters; they live in
:class:`LayerMixer` and get their own optimiser (see
:mod:`summarymixing.mp3s.brains.optimisation`). The hidden states are summed as they
are (no per-layer normalisation), as in the MP3S recipes; ``layer_norm=True``
normalises each one first (affine-free).

An upstream is any module called as ``upstream(wavs, wav_lens)`` that returns
``(hidden_states, padding_mask)``: a list of ``(batch, frames, dim)`` tensors
and a ``(batch, frames)`` bool mask, ``True`` on padding. Our exported
encoders (:func:`summarymixing.export.load_encoder`) do; see
:mod:`summarymixing.mp3s.upstream.loading` for Hugging Face / SpeechBrain models.
"""

import torch
import torch.nn.functional as F
from torch import nn

from summarymixing.padding import zero_padding


def count_hidden_states(upstream: nn.Module, sample_rate: int = 16000) -> int:
    """Count the hidden states an upstream returns.

    Read from ``upstream.num_hidden_states`` or from the ``num_hidden_states``
    entry of ``upstream.description`` (written by the pre-training export);
    otherwise counted by running one second of low-level noise through it.

    Parameters
    ----------
    upstream : torch.nn.Module
        See the module docstring.
    sample_rate : int
        Sampling rate of the probe waveform.

    Returns
    -------
    int
        The number of hidden states (layers + 1 for a wav2vec 2.0 model).

    Example
    -------
    >>> class TwoStates(nn.Module):
    ...     def forward(self, wavs, wav_lens):
    ...         x = wavs.unsqueeze(-1)[:, ::160]
    ...         return [x, 2 * x], torch.zeros(x.shape[:2], dtype=torch.bool)
    >>> count_hidden_states(TwoStates())
    2
    """
    declared = getattr(upstream, "num_hidden_states", None)
    if declared is None:
        declared = getattr(upstream, "description", {}).get("num_hidden_states")
    if declared is not None:
        return int(declared)
    parameter = next(upstream.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    generator = torch.Generator().manual_seed(0)
    probe = 0.01 * torch.randn(1, sample_rate, generator=generator)
    was_training = upstream.training
    upstream.eval()
    with torch.no_grad():
        hidden_states, _ = upstream(probe.to(device), torch.ones(1, device=device))
    upstream.train(was_training)
    return len(hidden_states)


class LayerMixer(nn.Module):
    """Softmax-weighted sum of hidden states, weights learned from zero.

    This is the only trainable part of :class:`WeightedLayerFeatures`; it is
    a module of its own so that a checkpoint can hold it (a few bytes)
    without the frozen upstream.

    Parameters
    ----------
    num_hidden_states : int
        How many hidden states are mixed.
    layer_norm : bool
        Normalise each hidden state (no affine) before the weighted sum.

    Example
    -------
    >>> mixer = LayerMixer(2)
    >>> mixer([torch.ones(1, 3, 4), torch.zeros(1, 3, 4)])[0, 0].tolist()
    [0.5, 0.5, 0.5, 0.5]
    """

    def __init__(self, num_hidden_states: int, layer_norm: bool = False) -> None:
        super().__init__()
        if num_hidden_states < 1:
            raise ValueError(
                f"num_hidden_states must be at least 1, got {num_hidden_states}"
            )
        self.weights = nn.Parameter(torch.zeros(num_hidden_states))
        self.layer_norm = layer_norm

    def layer_weights(self) -> torch.Tensor:
        """Return the softmax weights of the hidden states (they sum to one)."""
        return F.softmax(self.weights, dim=0)

    def forward(self, hidden_states: list[torch.Tensor]) -> torch.Tensor:
        """Mix ``(batch, frames, dim)`` hidden states into one.

        Parameters
        ----------
        hidden_states : list of torch.Tensor
            As many tensors as weights, all of the same shape.

        Returns
        -------
        torch.Tensor
            Their weighted sum.
        """
        if len(hidden_states) != self.weights.numel():
            raise ValueError(
                f"The upstream returned {len(hidden_states)} hidden states but "
                f"{self.weights.numel()} layer weights were created; build "
                "WeightedLayerFeatures with the matching num_hidden_states."
            )
        mixed = torch.zeros_like(hidden_states[0])
        for weight, state in zip(self.layer_weights(), hidden_states, strict=True):
            if self.layer_norm:
                state = F.layer_norm(state, state.shape[-1:])
            mixed = mixed + weight * state
        return mixed


class WeightedLayerFeatures(nn.Module):
    """Frozen upstream whose hidden states are mixed by learned softmax weights.

    The upstream's parameters get ``requires_grad=False``, it runs under
    ``torch.no_grad()`` and stays in eval mode even when this module is put in
    train mode (so dropout, layerdrop and BatchNorm statistics never change the
    frozen features). Padded frames of the output are zero. Checkpoint
    ``features.mixer``, not the whole module: the upstream is reloaded from
    its folder.

    Parameters
    ----------
    upstream : torch.nn.Module
        Called as ``upstream(wavs, wav_lens) -> (hidden_states, padding_mask)``.
    num_hidden_states : int, optional
        How many hidden states the upstream returns; counted by
        :func:`count_hidden_states` when not given.
    layer_norm : bool
        Normalise each hidden state (no affine) before the weighted sum.

    Example
    -------
    >>> from summarymixing import ConformerEncoder
    >>> from summarymixing.export import PretrainedEncoder
    >>> from summarymixing.wav2vec2 import FbankConvFrontEnd, W2V2EncoderWrapper
    >>> encoder = ConformerEncoder(2, 32, 64, 2, output_hidden_states=True)
    >>> upstream = PretrainedEncoder(
    ...     FbankConvFrontEnd(out_channels=16), W2V2EncoderWrapper(16, 32, encoder), {}
    ... )
    >>> features = WeightedLayerFeatures(upstream).train()
    >>> out, padding = features(torch.randn(2, 8000), torch.tensor([1.0, 0.5]))
    >>> weights = [round(w, 4) for w in features.layer_weights().tolist()]
    >>> out.shape, weights, upstream.training
    (torch.Size([2, 26, 32]), [0.3333, 0.3333, 0.3333], False)
    """

    def __init__(
        self,
        upstream: nn.Module,
        num_hidden_states: int | None = None,
        layer_norm: bool = False,
    ) -> None:
        super().__init__()
        self.upstream = upstream.eval()
        self.upstream.requires_grad_(False)
        if num_hidden_states is None:
            num_hidden_states = count_hidden_states(upstream)
        self.mixer = LayerMixer(num_hidden_states, layer_norm)

    @property
    def weights(self) -> nn.Parameter:
        """The softmax logits (the trainable parameters), one per hidden state."""
        return self.mixer.weights

    @property
    def num_hidden_states(self) -> int:
        """Number of mixed hidden states."""
        return self.mixer.weights.numel()

    def train(self, mode: bool = True) -> "WeightedLayerFeatures":
        """Set train/eval mode for this module; the upstream stays in eval mode.

        Parameters
        ----------
        mode : bool
            Train mode when True.

        Returns
        -------
        WeightedLayerFeatures
            ``self``.
        """
        super().train(mode)
        self.upstream.eval()
        return self

    def layer_weights(self) -> torch.Tensor:
        """Return the softmax weights of the hidden states (they sum to one)."""
        return self.mixer.layer_weights()

    def forward(
        self, wavs: torch.Tensor, wav_lens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Weighted sum of the upstream's hidden states.

        Parameters
        ----------
        wavs : torch.Tensor
            ``(batch, samples)`` zero-padded 16 kHz waveforms.
        wav_lens : torch.Tensor
            ``(batch,)`` SpeechBrain relative lengths.

        Returns
        -------
        features : torch.Tensor
            ``(batch, frames, dim)``, zero on padded frames.
        padding_mask : torch.Tensor
            ``(batch, frames)`` bool, ``True`` on padding.
        """
        with torch.no_grad():
            hidden_states, padding_mask = self.upstream(wavs, wav_lens)
        return zero_padding(self.mixer(hidden_states), padding_mask), padding_mask
