"""wav2vec 2.0 losses: contrastive task and codebook diversity.

With ``M`` masked frames, the pre-training objective (wav2vec 2.0, Baevski et
al., 2020) is

    loss = sum_t CE(sim(c_t, [q_t, d_1..d_K]) / 0.1, 0)
           + 0.1 * M * (G*V - perplexity) / (G*V)

The contrastive term is **summed** over masked frames, so the diversity term
is multiplied by ``M`` to keep its weight per frame: without that factor it
vanishes next to a sum over thousands of frames and the codebook collapses.
Divide the total by ``M`` (summed over accumulation steps and ranks) to get
the per-frame loss fairseq normalises gradients with. Everything here is
computed in fp32, even under autocast.

Logits are gathered from per-utterance ``(T, T)`` cosine-similarity matrices
rather than by materialising ``(M, K, dim)`` distractor vectors as fairseq
does: at the paper's batch (~9k masked frames, K=100, dim 256) those weigh
about 1 GB in fp32 plus as much for their gradient.
"""

import torch
import torch.nn.functional as F


def contrastive_logits(
    context: torch.Tensor,
    targets: torch.Tensor,
    target_codes: torch.Tensor,
    positives: torch.Tensor,
    distractor_index: torch.Tensor,
    temperature: float = 0.1,
) -> torch.Tensor:
    """Compute cosine-similarity logits of ``c_t`` against ``[q_t, distractors]``.

    A distractor with the same codewords as the target gets ``-inf``, as in
    wav2vec 2.0: it is not a wrong answer.

    Arguments
    ---------
    context : torch.Tensor
        ``(batch, time, dim)`` context vectors ``c_t``.
    targets : torch.Tensor
        ``(batch, time, dim)`` quantised targets ``q_t``.
    target_codes : torch.Tensor
        ``(batch, time, groups)`` codeword indices of the targets.
    positives : torch.Tensor
        ``(batch, time)`` boolean, the ``M`` frames to score (masked frames).
    distractor_index : torch.Tensor
        ``(M, K)`` flat indices into ``batch * time`` frames, all in the same
        utterance as their positive (see :func:`.negatives.sample_distractors`).
    temperature : float
        Logit temperature.

    Returns
    -------
    torch.Tensor
        ``(M, 1 + K)`` fp32 logits, the target in column 0.

    Example
    -------
    >>> targets = torch.eye(3).unsqueeze(0)
    >>> codes = torch.arange(3).view(1, 3, 1)
    >>> positives = torch.ones(1, 3, dtype=torch.bool)
    >>> distractors = torch.tensor([[1, 2], [0, 2], [0, 1]])
    >>> contrastive_logits(targets, targets, codes, positives, distractors)
    tensor([[10.,  0.,  0.],
            [10.,  0.,  0.],
            [10.,  0.,  0.]])
    """
    batch, time, _ = targets.shape
    positive_index = positives.flatten().nonzero().squeeze(1)
    with torch.autocast(device_type=context.device.type, enabled=False):
        context = F.normalize(context.float(), dim=-1, eps=1e-8)
        targets = F.normalize(targets.float(), dim=-1, eps=1e-8)
        similarity = torch.bmm(context, targets.transpose(1, 2)) / temperature
        rows = similarity.flatten(0, 1)[positive_index]
        columns = torch.cat([positive_index[:, None], distractor_index], dim=1) % time
        logits = rows.gather(1, columns)
    flat_codes = target_codes.flatten(0, 1)
    identical = (
        flat_codes[distractor_index] == flat_codes[positive_index].unsqueeze(1)
    ).all(dim=-1)
    identical = torch.cat([torch.zeros_like(identical[:, :1]), identical], dim=1)
    return logits.masked_fill(identical, float("-inf"))


def contrastive_loss(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Compute the summed cross-entropy (target in column 0) and the accuracy.

    Arguments
    ---------
    logits : torch.Tensor
        ``(M, 1 + K)`` logits from :func:`contrastive_logits`.

    Returns
    -------
    loss : torch.Tensor
        Scalar fp32, cross-entropy summed over the ``M`` frames.
    accuracy : torch.Tensor
        Scalar fp32, fraction of frames whose target logit beats every
        distractor strictly.

    Example
    -------
    >>> loss, accuracy = contrastive_loss(torch.tensor([[10.0, 0.0], [0.0, 0.0]]))
    >>> round(loss.item(), 3), accuracy.item()
    (0.693, 0.5)
    """
    logits = logits.float()
    zeros = torch.zeros(len(logits), dtype=torch.long, device=logits.device)
    loss = F.cross_entropy(logits, zeros, reduction="sum")
    correct = logits[:, 0] > logits[:, 1:].amax(dim=1)
    accuracy = correct.float().mean() if len(logits) else logits.new_zeros(())
    return loss, accuracy


def diversity_loss(
    perplexity: torch.Tensor,
    total_codewords: int,
    num_masked: int | torch.Tensor,
    weight: float = 0.1,
) -> torch.Tensor:
    """Codebook diversity penalty, scaled by the number of masked frames.

    Arguments
    ---------
    perplexity : torch.Tensor
        Sum over groups of the codeword perplexity, in ``[G, G*V]``.
    total_codewords : int
        ``G * V``.
    num_masked : int or torch.Tensor
        Number of masked frames ``M`` the contrastive loss is summed over.
    weight : float
        Diversity weight (0.1 in wav2vec 2.0).

    Returns
    -------
    torch.Tensor
        Scalar fp32, ``weight * M * (G*V - perplexity) / (G*V)``.

    Example
    -------
    >>> diversity_loss(torch.tensor(160.0), 640, num_masked=100)
    tensor(7.5000)
    """
    perplexity = perplexity.float()
    return weight * num_masked * (total_codewords - perplexity) / total_codewords
