"""CTC loss and greedy decoding for frame logits with a padding mask."""

import torch
import torch.nn.functional as F
from speechbrain.decoders.ctc import ctc_greedy_decode as speechbrain_greedy_decode

from summarymixing.padding import frame_lengths, relative_lengths


def ctc_loss(
    logits: torch.Tensor,
    padding_mask: torch.Tensor,
    targets: torch.Tensor,
    target_lengths: torch.Tensor,
    blank_index: int = 0,
) -> torch.Tensor:
    """CTC loss over the real frames of each utterance.

    PyTorch's CTC loss with exact integer lengths, ``reduction="mean"`` (each
    utterance's loss divided by its target length, then averaged, as
    SpeechBrain's ``ctc_loss``) and ``zero_infinity=True`` (an utterance
    shorter than its target contributes zero instead of infinity).

    Parameters
    ----------
    logits : torch.Tensor
        ``(batch, frames, vocab)`` from a CTC probe.
    padding_mask : torch.Tensor
        ``(batch, frames)`` bool, ``True`` on padding.
    targets : torch.Tensor
        ``(batch, max_target_length)`` token ids, padded with anything.
    target_lengths : torch.Tensor
        ``(batch,)`` number of target tokens per utterance.
    blank_index : int
        Index of the CTC blank.

    Returns
    -------
    torch.Tensor
        Scalar loss.

    Example
    -------
    >>> logits = torch.zeros(2, 6, 4)
    >>> padding = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    >>> loss = ctc_loss(logits, padding, torch.tensor([[1, 2], [3, 0]]),
    ...     torch.tensor([2, 1]))
    >>> bool(torch.isfinite(loss)), loss.dim()
    (True, 0)
    """
    log_probs = F.log_softmax(logits.float(), dim=-1).transpose(0, 1)
    return F.ctc_loss(
        log_probs,
        targets.long(),
        frame_lengths(padding_mask),
        target_lengths.long(),
        blank=blank_index,
        reduction="mean",
        zero_infinity=True,
    )


def ctc_greedy_decode(
    logits: torch.Tensor, padding_mask: torch.Tensor, blank_index: int = 0
) -> list[list[int]]:
    """Best token per real frame, repeats merged and blanks removed.

    Uses SpeechBrain's greedy CTC decoder on relative lengths.

    Parameters
    ----------
    logits : torch.Tensor
        ``(batch, frames, vocab)``.
    padding_mask : torch.Tensor
        ``(batch, frames)`` bool, ``True`` on padding.
    blank_index : int
        Index of the CTC blank.

    Returns
    -------
    list of list of int
        Token ids per utterance.

    Example
    -------
    >>> logits = torch.tensor([[[0.0, 5, 0], [0, 5, 0], [5, 0, 0], [0, 5, 0],
    ...     [0, 0, 5]]])
    >>> ctc_greedy_decode(logits, torch.tensor([[False, False, False, False, True]]))
    [[1, 1]]
    """
    return speechbrain_greedy_decode(
        logits, relative_lengths(padding_mask), blank_id=blank_index
    )
