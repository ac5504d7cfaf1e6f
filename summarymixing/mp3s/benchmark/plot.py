"""Bar chart of the learned layer weights of one MP3S task.

The softmax weights over the hidden states say which layers of the frozen
encoder a probe draws on; putting two encoders side by side shows whether, for
instance, SummaryMixing moves the useful information to other layers than
attention does. One subplot per probe, one colour per encoder (the same colour
in every subplot and every task), and a dotted line at the uniform weight,
where every weight starts. Matplotlib is imported here only, through its
object-oriented API (no pyplot, no global backend), so that the benchmark runs
without it and never opens a window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def plot_layer_weights(
    task: str,
    weights: Mapping[str, Mapping[str, Sequence[float]]],
    encoders: Sequence[str],
):
    """Draw one task's layer weights.

    Parameters
    ----------
    task : str
        The task, for the titles.
    weights : Mapping
        Probe -> encoder name -> the softmax weight of every hidden state.
    encoders : Sequence of str
        Every encoder of the benchmark, in order: fixes each one's colour.

    Returns
    -------
    matplotlib.figure.Figure
        Not yet saved.

    Example
    -------
    >>> weights = {
    ...     "linear": {"sm": [0.2, 0.8], "mhsa": [0.5, 0.5]},
    ...     "bilstm": {"sm": [0.9, 0.1]},
    ... }
    >>> figure = plot_layer_weights("slurp", weights, ["sm", "mhsa"])
    >>> [axis.get_title() for axis in figure.axes]
    ['slurp / linear', 'slurp / bilstm']
    """
    from matplotlib.figure import Figure

    longest = max(
        len(w) for per_encoder in weights.values() for w in per_encoder.values()
    )
    figure = Figure(
        figsize=(max(5.0, 0.45 * longest + 2), 2.8 * len(weights)),
        layout="constrained",
    )
    axes = figure.subplots(len(weights), 1, squeeze=False)[:, 0]
    for axis, (probe, per_encoder) in zip(axes, weights.items(), strict=True):
        _draw_bars(axis, per_encoder, encoders)
        lengths = {len(w) for w in per_encoder.values()}
        if len(lengths) == 1:
            uniform = 1 / lengths.pop()
            axis.axhline(uniform, color="grey", linestyle=":", label="uniform")
        axis.set_title(f"{task} / {probe}")
        axis.set_ylabel("softmax weight")
        axis.set_xticks(range(longest))
        axis.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axes[-1].set_xlabel("hidden state (0 = input of the first layer)")
    return figure


def _draw_bars(
    axis, per_encoder: Mapping[str, Sequence[float]], encoders: Sequence[str]
) -> None:
    """Draw grouped bars: a group per hidden state, a bar per encoder."""
    width = 0.8 / len(per_encoder)
    for k, (encoder, weights) in enumerate(per_encoder.items()):
        offset = (k - (len(per_encoder) - 1) / 2) * width
        positions = np.arange(len(weights)) + offset
        colour = f"C{encoders.index(encoder) % 10}"
        axis.bar(positions, weights, width, label=encoder, color=colour)
