"""Running a stack of encoder layers: layerdrop and hidden states.

Shared by the Conformer and Branchformer encoders. Two behaviours differ from
SpeechBrain's encoders, on purpose:

* a dropped layer still takes part in the graph through ``0 * sum(parameters)``
  added to its input, so every parameter gets a (zero) gradient and
  DistributedDataParallel never waits for a gradient that does not come;
* hidden states always number ``num_layers + 1`` (the input, then one per
  layer; a dropped layer contributes its unchanged input), so a probe that
  weights hidden states (MP3S) sees a fixed count.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from summarymixing.padding import zero_padding


def layers_to_drop(
    num_layers: int, layerdrop_prob: float, training: bool
) -> list[bool]:
    """Draw which layers layerdrop skips in this forward pass.

    A layer is dropped with probability ``layerdrop_prob``, in training only.

    Parameters
    ----------
    num_layers : int
        Number of layers.
    layerdrop_prob : float
        Probability to drop each layer.
    training : bool
        The module's training flag.

    Returns
    -------
    list of bool
        True for each dropped layer.

    Example
    -------
    >>> layers_to_drop(3, 1.0, training=True)
    [True, True, True]
    >>> layers_to_drop(3, 1.0, training=False)
    [False, False, False]
    """
    if not training or layerdrop_prob <= 0.0:
        return [False] * num_layers
    return (torch.rand(num_layers) < layerdrop_prob).tolist()


def zero_parameter_term(module: nn.Module) -> torch.Tensor:
    """Return ``0 * sum of the module's parameters``: zero, with a gradient path.

    Parameters
    ----------
    module : torch.nn.Module
        A layer that was skipped.

    Returns
    -------
    torch.Tensor
        A zero scalar whose gradient reaches every parameter of ``module``.

    Example
    -------
    >>> layer = nn.Linear(2, 2)
    >>> zero_parameter_term(layer).backward()
    >>> layer.weight.grad
    tensor([[0., 0.],
            [0., 0.]])
    """
    return 0.0 * sum(parameter.sum() for parameter in module.parameters())


def run_layers(
    layers: nn.ModuleList,
    src: torch.Tensor,
    *,
    layerdrop_prob: float,
    output_hidden_states: bool,
    padding: torch.Tensor | None = None,
    **layer_inputs: Any,
) -> tuple[torch.Tensor, list, list[torch.Tensor] | None]:
    """Run ``src`` through ``layers`` with layerdrop.

    Parameters
    ----------
    layers : torch.nn.ModuleList
        Encoder layers, each returning ``(output, attention)``.
    src : torch.Tensor
        ``(B, T, d)`` input.
    layerdrop_prob : float
        Probability to skip each layer (training only).
    output_hidden_states : bool
        Whether to collect the input and every layer's output.
    padding : torch.Tensor, optional
        ``(B, T)`` bool, True = padded frame; zeroed in hidden states.
    **layer_inputs
        Keyword arguments of every layer call (masks, positional embeddings).

    Returns
    -------
    output : torch.Tensor
        Output of the last layer.
    attention : list
        Each run layer's attention weights (None for SummaryMixing).
    hidden_states : list of torch.Tensor or None
        ``len(layers) + 1`` tensors when ``output_hidden_states``.

    Example
    -------
    >>> from summarymixing.encoders.conformer_layer import ConformerEncoderLayer
    >>> layers = nn.ModuleList([ConformerEncoderLayer(8, 16, 2, kernel_size=3)] * 2)
    >>> _ = layers.train()
    >>> out, attention, hidden = run_layers(
    ...     layers, torch.randn(1, 4, 8), layerdrop_prob=1.0, output_hidden_states=True
    ... )
    >>> len(attention), len(hidden)
    (0, 3)
    """
    dropped = layers_to_drop(len(layers), layerdrop_prob, layers.training)
    output = src
    attention = []
    hidden = [zero_padding(src, padding)] if output_hidden_states else None
    for layer, skip in zip(layers, dropped, strict=True):
        if skip:
            output = output + zero_parameter_term(layer)
        else:
            output, weights = layer(output, **layer_inputs)
            attention.append(weights)
        if hidden is not None:
            hidden.append(zero_padding(output, padding))
    return output, attention, hidden


def encode_stack(
    layers: nn.ModuleList,
    final_norm: nn.Module,
    src: torch.Tensor,
    src_key_padding_mask: torch.Tensor | None,
    *,
    layerdrop_prob: float,
    output_hidden_states: bool,
    **layer_inputs: Any,
) -> tuple:
    """Run the layers, normalise, zero the padding: an encoder's ``forward`` result.

    Parameters
    ----------
    layers : torch.nn.ModuleList
        Encoder layers, each returning ``(output, attention)``.
    final_norm : torch.nn.Module
        Normalisation of the last layer's output.
    src : torch.Tensor
        ``(B, T, d)`` input, already checked.
    src_key_padding_mask : torch.Tensor or None
        ``(B, T)`` bool, True = padded frame.
    layerdrop_prob : float
        Probability to skip each layer (training only).
    output_hidden_states : bool
        Whether to return every hidden state as a third element.
    **layer_inputs
        Other keyword arguments of every layer call.

    Returns
    -------
    tuple
        ``(output, attention)``, or ``(output, attention, hidden_states)``.

    Example
    -------
    >>> from summarymixing.encoders.conformer_layer import ConformerEncoderLayer
    >>> layers = nn.ModuleList([ConformerEncoderLayer(8, 16, 2, kernel_size=3)])
    >>> mask = torch.tensor([[False, False, True]])
    >>> out, attention = encode_stack(
    ...     layers, nn.LayerNorm(8), torch.randn(1, 3, 8), mask,
    ...     layerdrop_prob=0.0, output_hidden_states=False,
    ... )
    >>> out[0, 2].abs().sum().item(), attention
    (0.0, [None])
    """
    output, attention, hidden = run_layers(
        layers,
        src,
        layerdrop_prob=layerdrop_prob,
        output_hidden_states=output_hidden_states,
        padding=src_key_padding_mask,
        src_key_padding_mask=src_key_padding_mask,
        **layer_inputs,
    )
    output = zero_padding(final_norm(output), src_key_padding_mask)
    if output_hidden_states:
        return output, attention, hidden
    return output, attention
