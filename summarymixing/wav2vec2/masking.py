"""Span masking of latent frames for wav2vec 2.0 pre-training.

Each utterance gets its own number of span starts,
``n = max(1, round(mask_prob * length / span_length))``, drawn without
replacement among its ``length - span_length + 1`` admissible positions, so
that no span ever reaches padding; spans may overlap, so the masked fraction
is below ``mask_prob`` (about 0.49 of the frames for 0.65 and 10 frames).
An utterance shorter than a span is masked entirely.

Written here rather than reusing SpeechBrain's ``compute_mask`` because that
one gives every utterance the number of spans of the *shortest* utterance in
the batch (long utterances end up barely masked) and loops in NumPy. This one
is vectorised and runs on the device of ``lengths``. Lengths are absolute
frame counts; convert SpeechBrain relative lengths with
:func:`~summarymixing.wav2vec2.lengths.relative_to_absolute_lengths`.
"""

import torch


def compute_span_mask(
    lengths: torch.Tensor,
    max_length: int | None = None,
    mask_prob: float = 0.65,
    span_length: int = 10,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw span masks, ``True`` on masked frames, never on padding.

    Arguments
    ---------
    lengths : torch.Tensor
        ``(batch,)`` absolute number of real frames per utterance (>= 1).
    max_length : int, optional
        Padded number of frames; defaults to ``lengths.max()``.
    mask_prob : float
        Fraction of frames used as span starts times ``span_length``, in
        ``(0, 1]``.
    span_length : int
        Frames per span.
    generator : torch.Generator, optional
        Random generator (default: PyTorch's global one).

    Returns
    -------
    torch.Tensor
        ``(batch, max_length)`` boolean mask.

    Example
    -------
    >>> mask = compute_span_mask(torch.tensor([50, 4]), max_length=60)
    >>> mask.shape, mask[1].sum().item(), mask[:, 50:].any().item()
    (torch.Size([2, 60]), 4, False)
    """
    if not 0.0 < mask_prob <= 1.0 or span_length < 1:
        raise ValueError(
            f"mask_prob={mask_prob} must be in (0, 1] and span_length="
            f"{span_length} at least 1."
        )
    if lengths.numel() and int(lengths.min()) < 1:
        raise ValueError(
            f"Every utterance needs at least one frame to mask, got lengths "
            f"{lengths.tolist()}; drop empty utterances from the batch."
        )
    lengths = lengths.long()
    max_length = int(lengths.max()) if max_length is None else max_length
    if max_length < int(lengths.max()):
        raise ValueError(
            f"max_length={max_length} is shorter than the longest utterance "
            f"({int(lengths.max())} frames); pass the padded number of frames."
        )
    positions = (lengths - span_length + 1).clamp(min=1)
    num_spans = torch.round(mask_prob * lengths / span_length).long()
    num_spans = torch.minimum(num_spans.clamp(min=1), positions)
    starts = _distinct_starts(positions, int(num_spans.max()), generator)
    is_span = torch.arange(starts.shape[1], device=lengths.device) < num_spans[:, None]
    ends = torch.minimum(starts + span_length, lengths[:, None])
    boundaries = torch.zeros(len(lengths), max_length + 1, device=lengths.device)
    boundaries.scatter_add_(1, starts, is_span.float())
    boundaries.scatter_add_(1, ends, -is_span.float())
    return boundaries.cumsum(dim=1)[:, :max_length] > 0.5


def _distinct_starts(
    positions: torch.Tensor, num_starts: int, generator: torch.Generator | None
) -> torch.Tensor:
    """Return ``(batch, num_starts)`` distinct starts in ``[0, positions_b)``.

    Random keys are drawn for every position, inadmissible positions get a key
    above any random one, and the ``num_starts`` smallest keys win. Only the
    first ``min(num_starts, positions_b)`` starts of a row are admissible.
    """
    width = int(positions.max())
    keys = torch.rand(
        len(positions), width, device=positions.device, generator=generator
    )
    inadmissible = torch.arange(width, device=positions.device) >= positions[:, None]
    keys = keys.masked_fill(inadmissible, 2.0)
    return keys.argsort(dim=1)[:, :num_starts]
