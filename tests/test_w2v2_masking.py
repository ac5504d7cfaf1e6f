import math

import pytest
import torch

from summarymixing.wav2vec2 import compute_span_mask, make_padding_mask


def expected_masked_fraction(length: int, mask_prob: float, span: int) -> float:
    """Exact expectation for starts drawn without replacement, overlaps merged."""
    positions = max(length - span + 1, 1)
    num_spans = min(max(1, round(mask_prob * length / span)), positions)
    total = 0.0
    for frame in range(length):
        # number of admissible starts whose span covers this frame
        covering = min(frame, positions - 1) - max(0, frame - span + 1) + 1
        uncovered = math.prod(
            (positions - covering - j) / (positions - j) for j in range(num_spans)
        )
        total += 1.0 - uncovered
    return total / length


def test_masks_never_touch_padding_on_very_different_lengths():
    torch.manual_seed(0)
    lengths = torch.tensor([500, 3, 1, 37, 10, 11, 250])
    for _ in range(50):
        mask = compute_span_mask(lengths, max_length=520)
        assert not (mask & make_padding_mask(lengths, 520)).any()


def test_at_least_one_span_per_utterance_even_very_short():
    torch.manual_seed(0)
    lengths = torch.arange(1, 30)
    for _ in range(20):
        mask = compute_span_mask(lengths)
        masked = mask.sum(1)
        assert torch.all(masked >= torch.clamp(lengths, max=10))
    # shorter than a span: masked entirely
    assert compute_span_mask(torch.tensor([4])).all()


@pytest.mark.parametrize("length", [50, 200, 1500])
def test_masked_ratio_matches_expectation_with_overlaps(length):
    torch.manual_seed(1)
    lengths = torch.full((400,), length)
    observed = compute_span_mask(lengths).float().mean().item()
    expected = expected_masked_fraction(length, 0.65, 10)
    assert abs(observed - expected) < 0.01, (observed, expected)
    # the paper's setting masks roughly half of the frames, not 65 %
    assert 0.44 < expected < 0.52


def test_each_utterance_gets_its_own_number_of_spans():
    torch.manual_seed(2)
    lengths = torch.tensor([1000, 100])
    ratios = torch.stack(
        [compute_span_mask(lengths).float().sum(1) / lengths for _ in range(200)]
    ).mean(0)
    # with the count of the shortest (SpeechBrain's choice), the long one
    # would be masked ~10x less
    assert abs(ratios[0] - expected_masked_fraction(1000, 0.65, 10)) < 0.01
    assert abs(ratios[1] - expected_masked_fraction(100, 0.65, 10)) < 0.02


def test_span_structure_and_generator_determinism():
    lengths = torch.tensor([300, 120])
    first = compute_span_mask(lengths, generator=torch.Generator().manual_seed(3))
    second = compute_span_mask(lengths, generator=torch.Generator().manual_seed(3))
    assert torch.equal(first, second)
    # every run of masked frames is at least one span long (spans only merge)
    for row, length in zip(first, lengths.tolist(), strict=True):
        padded = torch.cat([torch.tensor([False]), row[:length], torch.tensor([False])])
        edges = torch.diff(padded.int()).nonzero().squeeze(1)
        run_lengths = edges[1::2] - edges[0::2]
        assert torch.all(run_lengths >= 10)


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="at least one frame"):
        compute_span_mask(torch.tensor([5, 0]))
    with pytest.raises(ValueError, match="mask_prob"):
        compute_span_mask(torch.tensor([5]), mask_prob=0.0)
    with pytest.raises(ValueError, match="max_length"):
        compute_span_mask(torch.tensor([50]), max_length=20)
