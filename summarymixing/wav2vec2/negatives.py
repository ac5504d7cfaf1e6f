"""Distractor sampling for the wav2vec 2.0 contrastive task.

For every positive frame (a masked frame, whose quantised target must be
recognised) we draw ``K`` distractor frames uniformly, with replacement, among
the *candidate* frames of the **same utterance**, never the positive itself.
wav2vec 2.0 uses as candidates the other masked frames of the utterance
("distractors are uniformly sampled from other masked time steps of the same
utterance"); the pre-trainer does the same. Candidates must exclude padding;
a mask from :func:`~summarymixing.wav2vec2.masking.compute_span_mask` does.

Written here rather than reusing SpeechBrain 1.1.2's ``sample_negatives``,
which offsets utterance ``b`` by ``b * (T - 1)`` instead of ``b * T`` in the
flattened batch, so every utterance after the first draws some distractors
from the previous one; it also draws from padding. Sampling here is fully
vectorised (no Python loop over frames or utterances) and, like fairseq,
with replacement, so utterances with fewer than ``K`` candidates work too.
"""

import torch


def sample_distractors(
    candidates: torch.Tensor,
    positives: torch.Tensor,
    num_distractors: int = 100,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw distractor frames for every positive frame.

    Arguments
    ---------
    candidates : torch.Tensor
        ``(batch, time)`` boolean, ``True`` on frames that may serve as
        distractors (must be ``False`` on padding).
    positives : torch.Tensor
        ``(batch, time)`` boolean, ``True`` on frames needing distractors.
        Their order is that of ``tensor[positives]`` (row-major).
    num_distractors : int
        ``K``, distractors per positive.
    generator : torch.Generator, optional
        Random generator (default: PyTorch's global one).

    Returns
    -------
    torch.Tensor
        ``(num_positives, K)`` indices into the flattened ``(batch * time)``
        frames: use as ``targets.flatten(0, 1)[indices]``.

    Example
    -------
    >>> mask = torch.tensor([[1, 1, 1, 0], [0, 1, 1, 0]], dtype=torch.bool)
    >>> indices = sample_distractors(mask, mask, num_distractors=4)
    >>> indices.shape, bool((indices[3:] // 4 == 1).all())
    (torch.Size([5, 4]), True)
    """
    if num_distractors < 1:
        raise ValueError(f"num_distractors={num_distractors} must be at least 1.")
    batch, time = candidates.shape
    candidates = candidates.bool()
    utterance, frame = positives.bool().nonzero(as_tuple=True)
    positive_is_candidate = candidates[utterance, frame]
    counts = candidates.sum(dim=1)
    choices = counts[utterance] - positive_is_candidate.long()
    if bool((choices < 1).any()):
        starved = sorted(set(utterance[choices < 1].tolist()))
        raise ValueError(
            f"Utterances {starved} of the batch have no candidate frame other "
            "than the positive, so no distractor can be drawn; use longer "
            "utterances (filter the manifest by a minimum duration)."
        )
    uniform = torch.rand(
        len(utterance), num_distractors, device=candidates.device, generator=generator
    )
    draw = torch.minimum((uniform * choices[:, None]).long(), choices[:, None] - 1)
    rank_of_positive = (candidates.cumsum(dim=1) - 1)[utterance, frame]
    skip_positive = (draw >= rank_of_positive[:, None]) & positive_is_candidate[:, None]
    draw = draw + skip_positive.long()
    candidate_flat_index = candidates.flatten().nonzero().squeeze(1)
    first_candidate = counts.cumsum(dim=0) - counts
    return candidate_flat_index[first_candidate[utterance][:, None] + draw]
