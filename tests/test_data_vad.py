import numpy as np
import pytest

from summarymixing.data.vad import EnergyVad, cut_into_pieces

RATE = 16000


def speech_like_bursts(
    seconds, seed, noise=1e-3, silence_s=(0.4, 2.5), burst_s=(1.0, 5.0), rate=RATE
):
    """Harmonic bursts with a syllable-rate envelope, separated by noisy silences.

    Returns the signal and the (start, end) sample positions of the bursts.
    """
    rng = np.random.default_rng(seed)
    signal = noise * rng.standard_normal(round(seconds * rate))
    bursts, time = [], rng.uniform(*silence_s)
    while True:
        duration = rng.uniform(*burst_s)
        if time + duration > seconds - 0.3:
            break
        start, end = round(time * rate), round((time + duration) * rate)
        t = np.arange(end - start) / rate
        pitch = rng.uniform(100, 220)
        voice = sum(np.sin(2 * np.pi * pitch * k * t) / k for k in range(1, 6))
        envelope = 0.2 + 0.8 * np.abs(np.sin(2 * np.pi * rng.uniform(3, 5) * t))
        signal[start:end] += 0.3 * voice * envelope
        bursts.append((start, end))
        time += duration + rng.uniform(*silence_s)
    return signal.astype(np.float32), bursts


def assert_covers_all_speech(pieces, bursts):
    for start, end in bursts:
        assert any(a <= start and end <= b for a, b in pieces), (start, end)


def assert_cuts_in_silence(pieces, bursts):
    for piece_start, piece_end in pieces:
        for start, end in bursts:
            assert not start < piece_start < end
            assert not start < piece_end < end


@pytest.mark.parametrize("seed", range(6))
def test_pieces_respect_limits_cut_in_silences_and_cover_the_speech(seed):
    signal, bursts = speech_like_bursts(70, seed)
    pieces = cut_into_pieces(signal, RATE, min_piece_s=10, max_piece_s=30)
    durations = [(end - start) / RATE for start, end in pieces]
    assert all(10 <= duration <= 30 for duration in durations), durations
    assert all(a[1] <= b[0] for a, b in zip(pieces[:-1], pieces[1:], strict=True))
    assert_cuts_in_silence(pieces, bursts)
    assert_covers_all_speech(pieces, bursts)


def test_cuts_choose_the_longest_silence_when_there_is_a_choice():
    # 12 s of speech, then a 0.5 s pause, 3 s speech, a 3 s pause, 12 s speech.
    rng = np.random.default_rng(1)
    speech = 0.3 * np.sin(np.arange(12 * RATE) * 0.1) * (1 + rng.random(12 * RATE))
    quiet = 1e-3 * rng.standard_normal(3 * RATE)
    parts = [speech, quiet[: RATE // 2], speech[: 3 * RATE], quiet, speech]
    pieces = cut_into_pieces(np.concatenate(parts), RATE, 10, 30)
    (_, first_end), (second_start, _) = pieces
    assert len(pieces) == 2
    assert 15.5 * RATE <= first_end and second_start <= 18.5 * RATE


def test_continuous_speech_is_split_at_its_quietest_points_within_limits():
    signal, bursts = speech_like_bursts(95, 3, silence_s=(0.05, 0.15))
    pieces = cut_into_pieces(signal, RATE, 10, 30)
    durations = [(end - start) / RATE for start, end in pieces]
    assert all(10 <= duration <= 30 for duration in durations), durations
    assert_covers_all_speech(pieces, bursts)


def test_noisy_recording_still_finds_its_pauses():
    signal, bursts = speech_like_bursts(70, 2, noise=0.05)
    regions = EnergyVad().speech_regions(signal, RATE)
    assert len(regions) == len(bursts)
    pieces = cut_into_pieces(signal, RATE, 10, 30)
    assert_cuts_in_silence(pieces, bursts)
    assert_covers_all_speech(pieces, bursts)


def test_file_shorter_than_min_stays_whole_and_silence_gives_nothing():
    signal, _ = speech_like_bursts(6, 0)
    assert cut_into_pieces(signal, RATE, 10, 30) == [(0, len(signal))]
    quiet = 1e-3 * np.random.default_rng(0).standard_normal(40 * RATE)
    assert cut_into_pieces(quiet, RATE, 10, 30) == []
    assert cut_into_pieces(np.zeros(0), RATE, 10, 30) == []


def test_isolated_short_speech_between_long_silences_is_kept_not_dropped():
    rng = np.random.default_rng(0)
    quiet = 1e-3 * rng.standard_normal(40 * RATE)
    signal = quiet.copy()
    signal[20 * RATE : 23 * RATE] += 0.3 * np.sin(np.arange(3 * RATE) * 0.2)
    pieces = cut_into_pieces(signal, RATE, 10, 30)
    assert len(pieces) == 1
    start, end = pieces[0]
    assert start <= 20 * RATE and 23 * RATE <= end
    assert end - start == 10 * RATE  # widened into the silence to the minimum


def test_short_piece_is_widened_only_as_far_as_the_recording_allows():
    rng = np.random.default_rng(0)
    signal = 1e-3 * rng.standard_normal(12 * RATE)
    signal[RATE : 4 * RATE] += 0.3 * np.sin(np.arange(3 * RATE) * 0.2)
    signal[9 * RATE : 11 * RATE] += 0.3 * np.sin(np.arange(2 * RATE) * 0.2)
    pieces = cut_into_pieces(signal, RATE, min_piece_s=7, max_piece_s=8)
    assert pieces[0][0] == 0 and pieces[-1][1] == len(signal)
    assert all(a[1] <= b[0] for a, b in zip(pieces[:-1], pieces[1:], strict=True))
    assert sum(end - start for start, end in pieces) == len(signal)


def test_regions_are_padded_and_short_pauses_filled():
    vad = EnergyVad(min_silence_s=0.3, pad_s=0.1)
    signal = np.zeros(5 * RATE, np.float32)
    signal[RATE : 2 * RATE] = 0.5
    signal[round(2.2 * RATE) : 3 * RATE] = 0.5  # a 0.2 s pause: filled
    signal[4 * RATE : round(4.05 * RATE)] = 0.5  # a 50 ms click: dropped
    regions = vad.speech_regions(signal, RATE)
    assert regions == [(round(0.9 * RATE), round(3.1 * RATE))]


def test_cutting_is_deterministic_and_limits_are_checked():
    signal, _ = speech_like_bursts(70, 5)
    assert cut_into_pieces(signal, RATE) == cut_into_pieces(signal.copy(), RATE)
    with pytest.raises(ValueError, match="min_piece_s"):
        cut_into_pieces(signal, RATE, min_piece_s=30, max_piece_s=10)
