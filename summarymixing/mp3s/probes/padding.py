"""Padding-exact building blocks of the MP3S probes: packed RNNs, zero-edge convs.

Every probe receives ``(features, padding_mask)`` where ``padding_mask`` is
``(batch, frames)`` bool, ``True`` on padded frames. The generic mask and
length helpers live in :mod:`summarymixing.padding`; the two here make
SpeechBrain's recurrent and convolutional layers give each utterance of a
padded batch exactly what it gets alone.
"""

import torch
from torch import nn

from summarymixing.padding import frame_lengths


def run_packed_rnn(
    rnn: nn.RNNBase, x: torch.Tensor, padding_mask: torch.Tensor
) -> torch.Tensor:
    """Run a batch-first RNN on the real frames only (packed sequences).

    A bidirectional RNN run on a padded tensor reads the padding before the
    real frames in its backward direction; packing makes each utterance's
    output independent of the padding.

    Parameters
    ----------
    rnn : torch.nn.RNNBase
        A ``batch_first=True`` LSTM/GRU/RNN.
    x : torch.Tensor
        ``(batch, frames, input_size)``.
    padding_mask : torch.Tensor
        ``(batch, frames)`` bool, ``True`` on padding.

    Returns
    -------
    torch.Tensor
        ``(batch, frames, hidden * directions)``, zero on padded frames.

    Example
    -------
    >>> rnn = nn.LSTM(4, 3, batch_first=True, bidirectional=True)
    >>> out = run_packed_rnn(rnn, torch.randn(2, 5, 4), torch.tensor([[False] * 5,
    ...     [False] * 2 + [True] * 3]))
    >>> out.shape, out[1, 2:].abs().sum().item()
    (torch.Size([2, 5, 6]), 0.0)
    """
    lengths = frame_lengths(padding_mask)
    if bool((lengths == 0).any()):
        raise ValueError(
            "An utterance has no real frame (its padding mask is all True); "
            "drop utterances shorter than one encoder frame before probing."
        )
    packed = nn.utils.rnn.pack_padded_sequence(
        x, lengths.cpu(), batch_first=True, enforce_sorted=False
    )
    output, _ = rnn(packed)
    padded, _ = nn.utils.rnn.pad_packed_sequence(
        output, batch_first=True, total_length=x.shape[1]
    )
    return padded


def zero_edge_padding(module: nn.Module) -> nn.Module:
    """Make every SpeechBrain ``Conv1d`` in ``module`` pad with zeros.

    SpeechBrain's "same" convolutions pad with reflected frames by default. A
    reflection of the utterance's own last frames cannot be reproduced for
    an utterance that ends inside a padded batch; zeros can, since the probes
    zero the padded frames between layers. The weights are unchanged.

    Parameters
    ----------
    module : torch.nn.Module
        Any module holding ``speechbrain.nnet.CNN.Conv1d`` layers.

    Returns
    -------
    torch.nn.Module
        ``module``, modified in place.

    Example
    -------
    >>> from speechbrain.nnet.CNN import Conv1d
    >>> conv = zero_edge_padding(Conv1d(4, 3, in_channels=2))
    >>> conv.padding_mode
    'constant'
    """
    from speechbrain.nnet.CNN import Conv1d

    for layer in module.modules():
        if isinstance(layer, Conv1d):
            layer.padding_mode = "constant"
    return module
