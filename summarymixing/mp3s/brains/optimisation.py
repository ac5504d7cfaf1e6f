"""The two optimisers of MP3S: one for the probe, one for the layer weights.

The probe learns with Adam at 2e-4, annealed by NewBob (x0.8 when the
validation metric improves by less than 0.25 %); the softmax layer weights
learn with Adam at 0.01, annealed by NewBob x0.9. :func:`build_probe_optimisers`
builds both, and :class:`ProbeOptimisers` hands them to a SpeechBrain
``Brain`` (``optimizers_dict``, so that Brain's own gradient clipping,
non-finite checks and AMP scaling apply to both) and to its ``Checkpointer``.
"""

from dataclasses import dataclass
from typing import Any

import torch
from speechbrain.nnet.schedulers import NewBobScheduler, update_learning_rate
from torch import nn

from summarymixing.mp3s.upstream.weighted_layers import WeightedLayerFeatures


@dataclass
class ProbeOptimisers:
    """Probe and layer-weight optimisers with their NewBob annealers.

    Attributes
    ----------
    probe : torch.optim.Optimizer
        Optimises the probe's parameters.
    layer_weights : torch.optim.Optimizer
        Optimises the softmax logits of :class:`WeightedLayerFeatures`.
    probe_annealing, weights_annealing : NewBobScheduler
        Their learning-rate annealers.
    """

    probe: torch.optim.Optimizer
    layer_weights: torch.optim.Optimizer
    probe_annealing: NewBobScheduler
    weights_annealing: NewBobScheduler

    def as_dict(self) -> dict[str, torch.optim.Optimizer]:
        """Both optimisers by name, for ``Brain.optimizers_dict``."""
        return {"probe": self.probe, "layer_weights": self.layer_weights}

    def recoverables(self) -> dict[str, Any]:
        """Optimisers and annealers to add to a SpeechBrain ``Checkpointer``.

        Add the probe and ``features.mixer`` (the layer weights) as well.
        """
        return {
            "probe_optimiser": self.probe,
            "weights_optimiser": self.layer_weights,
            "probe_annealing": self.probe_annealing,
            "weights_annealing": self.weights_annealing,
        }

    def zero_grad(self) -> None:
        """Clear the gradients of both optimisers (for plain training loops)."""
        for optimiser in self.as_dict().values():
            optimiser.zero_grad(set_to_none=True)

    def step(self) -> None:
        """Step both optimisers (for plain training loops)."""
        for optimiser in self.as_dict().values():
            optimiser.step()

    def anneal(self, validation_metric: float) -> tuple[float, float]:
        """Update both learning rates from a validation metric (lower is better).

        Parameters
        ----------
        validation_metric : float
            E.g. the validation loss or WER of the epoch.

        Returns
        -------
        tuple of float
            The new probe and layer-weight learning rates.
        """
        _, probe_lr = self.probe_annealing(validation_metric)
        _, weights_lr = self.weights_annealing(validation_metric)
        update_learning_rate(self.probe, probe_lr)
        update_learning_rate(self.layer_weights, weights_lr)
        return probe_lr, weights_lr


def build_probe_optimisers(
    features: WeightedLayerFeatures,
    probe: nn.Module,
    probe_lr: float = 2e-4,
    weights_lr: float = 0.01,
    probe_annealing_factor: float = 0.8,
    weights_annealing_factor: float = 0.9,
    improvement_threshold: float = 0.0025,
    patient: int = 0,
    optimiser_class: type[torch.optim.Optimizer] = torch.optim.Adam,
) -> ProbeOptimisers:
    """Build the two optimisers and annealers of an MP3S probe.

    Parameters
    ----------
    features : WeightedLayerFeatures
        Its ``weights`` get their own optimiser; the frozen upstream gets none.
    probe : torch.nn.Module
        Its trainable parameters form the probe optimiser.
    probe_lr, weights_lr : float
        Initial learning rates.
    probe_annealing_factor, weights_annealing_factor : float
        NewBob factors.
    improvement_threshold : float
        Relative improvement below which NewBob anneals.
    patient : int
        Epochs without improvement tolerated before annealing.
    optimiser_class : type of torch.optim.Optimizer
        Called as ``optimiser_class(params, lr=lr)``.

    Returns
    -------
    ProbeOptimisers
        The optimisers and annealers.

    Example
    -------
    >>> from summarymixing.mp3s.upstream.weighted_layers import WeightedLayerFeatures
    >>> class Upstream(nn.Module):
    ...     def forward(self, wavs, wav_lens):
    ...         x = wavs.unsqueeze(-1)[:, ::160]
    ...         return [x, -x], torch.zeros(x.shape[:2], dtype=torch.bool)
    >>> optimisers = build_probe_optimisers(
    ...     WeightedLayerFeatures(Upstream(), num_hidden_states=2), nn.Linear(1, 3)
    ... )
    >>> optimisers.anneal(1.0), optimisers.anneal(1.0)
    ((0.0002, 0.01), (0.00016, 0.009000000000000001))
    """
    probe_parameters = [p for p in probe.parameters() if p.requires_grad]
    if not probe_parameters:
        raise ValueError(f"The probe {type(probe).__name__} has no trainable parameter")
    return ProbeOptimisers(
        probe=optimiser_class(probe_parameters, lr=probe_lr),
        layer_weights=optimiser_class([features.weights], lr=weights_lr),
        probe_annealing=NewBobScheduler(
            probe_lr, probe_annealing_factor, improvement_threshold, patient
        ),
        weights_annealing=NewBobScheduler(
            weights_lr, weights_annealing_factor, improvement_threshold, patient
        ),
    )
