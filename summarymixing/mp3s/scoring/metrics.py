"""MP3S metrics: WER/CER, accuracy, EER and minDCF.

Rates are in percent, as in the MP3S tables; minDCF is a cost (no unit).

EER and minDCF follow the definitions of SpeechBrain's ``EER`` and ``minDCF``
exactly: candidate thresholds are the distinct scores and the midpoints
between them, a target trial is missed when its score is ``<=`` the
threshold, a non-target is accepted when its score is ``>`` it, the EER is
``(FAR + FRR) / 2`` at the first threshold minimising ``|FAR - FRR|``.
SpeechBrain loops over thresholds (EER) or builds a thresholds x trials
matrix (minDCF: ~6 GB for the 37,611 VoxCeleb1 veri_test2 trials); here the
counts come from sorted scores and ``searchsorted``, in ``O(n log n)``.
"""

import collections
from collections.abc import Sequence

import torch
from speechbrain.utils.edit_distance import accumulatable_wer_stats


def _error_rates(
    positive_scores: torch.Tensor, negative_scores: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Thresholds with the miss (FRR) and false-alarm (FAR) rates at each."""
    positives = torch.as_tensor(positive_scores).flatten().float()
    negatives = torch.as_tensor(negative_scores).flatten().float()
    if positives.numel() == 0 or negatives.numel() == 0:
        raise ValueError(
            "EER and minDCF need at least one target and one non-target trial; "
            f"got {positives.numel()} and {negatives.numel()}"
        )
    distinct = torch.unique(torch.cat([positives, negatives]))
    midpoints = (distinct[:-1] + distinct[1:]) / 2
    thresholds, _ = torch.sort(torch.cat([distinct, midpoints]))
    sorted_positives, _ = torch.sort(positives)
    sorted_negatives, _ = torch.sort(negatives)
    misses = torch.searchsorted(sorted_positives, thresholds, right=True)
    accepted = negatives.numel() - torch.searchsorted(
        sorted_negatives, thresholds, right=True
    )
    frr = misses.float() / positives.numel()
    far = accepted.float() / negatives.numel()
    return thresholds, frr, far


def equal_error_rate(
    positive_scores: torch.Tensor, negative_scores: torch.Tensor
) -> tuple[float, float]:
    """Equal error rate (percent) and its threshold.

    Parameters
    ----------
    positive_scores : torch.Tensor
        Scores of target trials (same speaker).
    negative_scores : torch.Tensor
        Scores of non-target trials.

    Returns
    -------
    eer : float
        In percent.
    threshold : float
        The threshold where it is reached.

    Example
    -------
    >>> eer, threshold = equal_error_rate(
    ...     torch.tensor([0.9, 0.8, 0.7, 0.3]), torch.tensor([0.1, 0.2, 0.4, 0.75])
    ... )
    >>> eer
    25.0
    """
    thresholds, frr, far = _error_rates(positive_scores, negative_scores)
    index = torch.argmin((far - frr).abs())
    eer = (far[index].item() + frr[index].item()) / 2
    return 100.0 * eer, thresholds[index].item()


def min_detection_cost(
    positive_scores: torch.Tensor,
    negative_scores: torch.Tensor,
    p_target: float = 0.01,
    c_miss: float = 1.0,
    c_fa: float = 1.0,
) -> tuple[float, float]:
    """Minimum of ``c_miss * P_miss * p_target + c_fa * P_fa * (1 - p_target)``.

    Parameters
    ----------
    positive_scores : torch.Tensor
        Scores of target trials.
    negative_scores : torch.Tensor
        Scores of non-target trials.
    p_target : float
        Prior probability of a target trial (VoxCeleb: 0.01).
    c_miss, c_fa : float
        Costs of a miss and of a false alarm.

    Returns
    -------
    min_dcf : float
        The minimum cost (not normalised).
    threshold : float
        Where it is reached.

    Example
    -------
    >>> cost, threshold = min_detection_cost(
    ...     torch.tensor([0.9, 0.8, 0.7, 0.3]), torch.tensor([0.1, 0.2, 0.4, 0.75])
    ... )
    >>> round(cost, 6)
    0.005
    """
    thresholds, frr, far = _error_rates(positive_scores, negative_scores)
    costs = c_miss * frr * p_target + c_fa * far * (1 - p_target)
    index = torch.argmin(costs)
    return float(costs[index]), float(thresholds[index])


def error_rate(
    references: Sequence[str], hypotheses: Sequence[str], unit: str = "word"
) -> float:
    """Word or character error rate in percent (SpeechBrain's edit distance).

    Parameters
    ----------
    references, hypotheses : sequence of str
        Reference and hypothesis transcripts, in the same order.
    unit : str
        ``"word"`` (split on whitespace) or ``"char"`` (every character,
        spaces included, as SpeechBrain's ``split_tokens`` CER).

    Returns
    -------
    float
        Edits divided by reference tokens, in percent.

    Example
    -------
    >>> error_rate(["the cat sat", "a dog"], ["the cat sat", "a frog"])
    20.0
    >>> round(error_rate(["abcd"], ["abd"], unit="char"), 2)
    25.0
    """
    if unit not in ("word", "char"):
        raise ValueError(f"unit must be 'word' or 'char', got {unit!r}")
    if len(references) != len(hypotheses):
        raise ValueError(
            f"{len(references)} references but {len(hypotheses)} hypotheses"
        )
    split = str.split if unit == "word" else list
    stats = accumulatable_wer_stats(
        [split(text) for text in references],
        [split(text) for text in hypotheses],
        collections.Counter(),
    )
    return float(stats["WER"])


def accuracy(predictions: torch.Tensor, targets: torch.Tensor) -> float:
    """Share of correct predictions, in percent.

    Parameters
    ----------
    predictions : torch.Tensor
        ``(n,)`` predicted classes, or ``(n, classes)`` scores.
    targets : torch.Tensor
        ``(n,)`` true classes.

    Returns
    -------
    float
        Accuracy in percent.

    Example
    -------
    >>> scores = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    >>> round(accuracy(scores, torch.tensor([1, 0, 0])), 2)
    66.67
    """
    if predictions.dim() == 2:
        predictions = predictions.argmax(dim=-1)
    if predictions.shape != targets.shape or targets.numel() == 0:
        raise ValueError(
            f"predictions {tuple(predictions.shape)} and targets "
            f"{tuple(targets.shape)} must be the same non-empty shape"
        )
    return 100.0 * (predictions == targets).double().mean().item()
