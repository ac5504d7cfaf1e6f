import pytest
import torch

from summarymixing.wav2vec2 import (
    compute_span_mask,
    make_padding_mask,
    sample_distractors,
)


def check_distractors(candidates, positives, indices):
    """Return the list of violated properties (empty when all hold)."""
    time = candidates.shape[1]
    utterance, frame = positives.nonzero(as_tuple=True)
    positive_flat = utterance * time + frame
    problems = []
    if not torch.all(indices // time == utterance[:, None]):
        problems.append("other utterance")
    if torch.any(indices == positive_flat[:, None]):
        problems.append("positive drawn")
    if not torch.all(candidates.flatten()[indices]):
        problems.append("non-candidate drawn")
    return problems


def padded_batch(lengths, max_length, seed):
    mask = compute_span_mask(
        torch.tensor(lengths), max_length, generator=torch.Generator().manual_seed(seed)
    )
    return mask, make_padding_mask(torch.tensor(lengths), max_length)


@pytest.mark.parametrize("seed", range(5))
def test_distractors_same_utterance_never_positive_never_padding(seed):
    lengths = [400, 12, 2, 157, 33, 400, 71]
    mask, padding = padded_batch(lengths, 420, seed)
    torch.manual_seed(seed)
    indices = sample_distractors(mask, mask, num_distractors=100)
    assert indices.shape == (int(mask.sum()), 100)
    assert check_distractors(mask, mask, indices) == []
    assert not padding.flatten()[indices].any()


def test_candidates_from_all_real_frames():
    lengths = [90, 5, 60]
    mask, padding = padded_batch(lengths, 100, 7)
    indices = sample_distractors(~padding, mask, num_distractors=50)
    assert check_distractors(~padding, mask, indices) == []


def test_fewer_candidates_than_k_sample_with_replacement():
    candidates = torch.tensor([[True, True, False, False], [True, True, True, False]])
    indices = sample_distractors(candidates, candidates, num_distractors=100)
    assert check_distractors(candidates, candidates, indices) == []
    # utterance 0 has one other candidate only: it is always that one
    assert indices[0].eq(1).all() and indices[1].eq(0).all()
    assert set(indices[2].tolist()) == {5, 6}


def test_draws_are_uniform_over_the_other_candidates():
    torch.manual_seed(0)
    candidates = torch.zeros(2, 10, dtype=torch.bool)
    candidates[1, [0, 3, 4, 8, 9]] = True
    positives = torch.zeros_like(candidates)
    positives[1, 4] = True
    indices = sample_distractors(candidates, positives, num_distractors=40000)
    counts = torch.bincount(indices.flatten(), minlength=20)[10:]
    frequencies = counts[[0, 3, 8, 9]].float() / 40000
    assert counts[4] == 0
    torch.testing.assert_close(frequencies, torch.full((4,), 0.25), atol=0.01, rtol=0)


def offset_by_t_minus_one(candidates, num_distractors):
    """The indexing of SpeechBrain 1.1.2's ``sample_negatives``, re-expressed."""
    batch, time = candidates.shape
    targets = torch.arange(time).repeat_interleave(num_distractors)
    draws = torch.randint(0, time - 1, (batch, time * num_distractors))
    draws[draws >= targets] += 1
    flat = (draws + torch.arange(batch)[:, None] * (time - 1)).view(batch, time, -1)
    return flat[candidates]


def test_the_property_check_catches_the_t_minus_one_offset_bug():
    torch.manual_seed(0)
    candidates = torch.ones(4, 30, dtype=torch.bool)
    buggy = offset_by_t_minus_one(candidates, num_distractors=20)
    assert "other utterance" in check_distractors(candidates, candidates, buggy)
    ours = sample_distractors(candidates, candidates, num_distractors=20)
    assert check_distractors(candidates, candidates, ours) == []


def test_utterance_without_other_candidate_raises():
    candidates = torch.tensor([[True, True], [True, False]])
    with pytest.raises(ValueError, match=r"Utterances \[1\]"):
        sample_distractors(candidates, candidates, num_distractors=3)
