import pytest
import torch
import torch.nn.functional as F

from summarymixing.wav2vec2 import contrastive_logits, contrastive_loss, diversity_loss


def random_problem(seed=0, batch=3, time=20, dim=8, k=6, num_codewords=1000):
    """Random vectors; distractors from the same utterance, never the positive."""
    generator = torch.Generator().manual_seed(seed)
    context = torch.randn(batch, time, dim, generator=generator)
    targets = torch.randn(batch, time, dim, generator=generator)
    codes = torch.randint(0, num_codewords, (batch, time, 2), generator=generator)
    positives = torch.rand(batch, time, generator=generator) < 0.5
    utterance, frame = positives.nonzero(as_tuple=True)
    shift = torch.randint(1, time, (len(utterance), k), generator=generator)
    distractor_index = utterance[:, None] * time + (frame[:, None] + shift) % time
    return context, targets, codes, positives, distractor_index


def test_logits_equal_cosine_similarity_over_temperature():
    context, targets, codes, positives, distractor_index = random_problem()
    logits = contrastive_logits(context, targets, codes, positives, distractor_index)
    flat_targets = targets.flatten(0, 1)
    candidates = torch.cat(
        [targets[positives].unsqueeze(1), flat_targets[distractor_index]], dim=1
    )
    expected = F.cosine_similarity(context[positives].unsqueeze(1), candidates, dim=-1)
    assert torch.isfinite(logits).all()
    torch.testing.assert_close(logits, expected / 0.1, atol=1e-5, rtol=1e-5)


def test_distractors_with_the_targets_codes_get_minus_infinity():
    # two groups of two codewords: a quarter of the distractors share both codes
    problem = random_problem(num_codewords=2)
    context, targets, codes, positives, distractor_index = problem
    logits = contrastive_logits(context, targets, codes, positives, distractor_index)
    flat_codes = codes.flatten(0, 1).tolist()
    positive_flat = positives.flatten().nonzero().squeeze(1).tolist()
    expected = torch.tensor(
        [
            [flat_codes[d] == flat_codes[p] for d in row]
            for p, row in zip(positive_flat, distractor_index.tolist(), strict=True)
        ]
    )
    assert 0 < expected.sum() < expected.numel()
    assert torch.equal(torch.isneginf(logits[:, 1:]), expected)
    assert torch.isfinite(logits[:, 0]).all()
    loss, _ = contrastive_loss(logits)
    assert torch.isfinite(loss)


def test_contrastive_loss_is_summed_and_accuracy_strict():
    logits = torch.tensor([[5.0, 1.0, 2.0], [1.0, 1.0, 0.0], [0.0, 3.0, float("-inf")]])
    loss, accuracy = contrastive_loss(logits)
    expected = sum(
        F.cross_entropy(row[None], torch.tensor([0]), reduction="sum") for row in logits
    )
    torch.testing.assert_close(loss, expected)
    assert accuracy.item() == pytest.approx(1 / 3)


def test_diversity_term_scales_with_the_number_of_masked_frames():
    perplexity = torch.tensor(200.0)
    one = diversity_loss(perplexity, 640, num_masked=1)
    torch.testing.assert_close(one, torch.tensor(0.1 * 440 / 640))
    for num_masked in [7, 100, 8600]:
        torch.testing.assert_close(
            diversity_loss(perplexity, 640, num_masked), one * num_masked
        )
    assert diversity_loss(torch.tensor(640.0), 640, 100).item() == 0.0


def test_losses_are_fp32_under_autocast():
    context, targets, codes, positives, distractor_index = random_problem()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = contrastive_logits(
            context.bfloat16(), targets.bfloat16(), codes, positives, distractor_index
        )
        loss, accuracy = contrastive_loss(logits)
    assert logits.dtype == loss.dtype == accuracy.dtype == torch.float32
