import math

import numpy as np
import pytest
import soundfile
import torch

from summarymixing.data.audio import (
    BadAudioError,
    load_audio,
    probe_audio,
    write_audio,
)


def tone(seconds: float, rate: int, frequency: float = 440.0) -> np.ndarray:
    time = np.arange(round(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * frequency * time)).astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 22050, 44100])
def test_other_rates_are_resampled_to_16k_with_the_right_length(tmp_path, rate):
    path = tmp_path / f"tone_{rate}.flac"
    soundfile.write(path, tone(1.3, rate), rate)
    signal = load_audio(path)
    assert signal.dtype == torch.float32
    assert signal.shape == (math.ceil(round(1.3 * rate) * 16000 / rate),)
    # A 440 Hz tone stays a 440 Hz tone after resampling.
    spectrum = torch.fft.rfft(signal).abs()
    peak_hz = spectrum.argmax().item() * 16000 / len(signal)
    assert abs(peak_hz - 440) < 2


def test_16k_file_is_returned_unchanged(tmp_path):
    samples = tone(0.5, 16000)
    soundfile.write(tmp_path / "a.wav", samples, 16000, subtype="FLOAT")
    assert torch.equal(load_audio(tmp_path / "a.wav"), torch.from_numpy(samples))


def test_channels_are_averaged(tmp_path):
    stereo = np.stack([np.full(1600, 0.25), np.full(1600, 0.75)], axis=1)
    soundfile.write(tmp_path / "s.wav", stereo, 16000, subtype="FLOAT")
    signal = load_audio(tmp_path / "s.wav")
    assert signal.shape == (1600,)
    assert torch.allclose(signal, torch.full((1600,), 0.5))


def test_segment_is_read_in_seconds_of_the_file(tmp_path):
    ramp = (np.arange(8000) / 8000).astype(np.float32)
    soundfile.write(tmp_path / "r.wav", ramp, 8000, subtype="FLOAT")
    segment = load_audio(tmp_path / "r.wav", sample_rate=8000, start_s=0.25, stop_s=0.5)
    assert torch.equal(segment, torch.from_numpy(ramp[2000:4000]))


def make_bad_files(folder):
    (folder / "empty.flac").write_bytes(b"")
    rng = np.random.default_rng(0)
    (folder / "corrupt.flac").write_bytes(rng.integers(0, 256, 4096).astype(np.uint8))
    soundfile.write(folder / "no_samples.wav", np.zeros(0, np.float32), 16000)
    nan = np.full(100, np.nan, np.float32)
    soundfile.write(folder / "nan.wav", nan, 16000, subtype="FLOAT")
    return {
        "missing.flac": "file not found",
        "empty.flac": "empty file (0 bytes)",
        "corrupt.flac": "cannot decode",
        "no_samples.wav": "no audio samples",
        "nan.wav": "non-finite samples",
    }


def test_every_kind_of_bad_file_raises_bad_audio_error_with_path_and_reason(tmp_path):
    for name, reason in make_bad_files(tmp_path).items():
        with pytest.raises(BadAudioError) as caught:
            load_audio(tmp_path / name)
        assert caught.value.path == str(tmp_path / name)
        assert caught.value.reason.startswith(reason)
        assert str(tmp_path / name) in str(caught.value)


def test_probe_rejects_unreadable_headers_and_reports_durations(tmp_path):
    make_bad_files(tmp_path)
    for name in ("missing.flac", "empty.flac", "corrupt.flac", "no_samples.wav"):
        with pytest.raises(BadAudioError):
            probe_audio(tmp_path / name)
    soundfile.write(tmp_path / "t.flac", tone(2.5, 44100), 44100)
    info = probe_audio(tmp_path / "t.flac")
    assert (info.sample_rate, info.num_channels) == (44100, 1)
    assert info.duration == pytest.approx(2.5)


def test_truncated_flac_passes_probe_but_not_load(tmp_path):
    soundfile.write(tmp_path / "full.flac", tone(3.0, 16000) * 0.9, 16000)
    data = (tmp_path / "full.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(data[: len(data) // 2])
    assert probe_audio(tmp_path / "cut.flac").duration == pytest.approx(3.0)
    with pytest.raises(BadAudioError, match="cannot decode"):
        load_audio(tmp_path / "cut.flac")


def test_bad_audio_error_survives_pickling_between_processes():
    import pickle

    error = pickle.loads(pickle.dumps(BadAudioError("/a.flac", "file not found")))
    assert (error.path, error.reason) == ("/a.flac", "file not found")


@pytest.mark.parametrize("suffix", [".flac", ".wav", ".ogg", ".mp3"])
def test_write_then_load_round_trip_in_every_format(tmp_path, suffix):
    signal = torch.from_numpy(tone(0.5, 16000))
    path = tmp_path / "sub" / f"x{suffix}"
    write_audio(path, signal, 16000)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp left
    loaded = load_audio(path)
    assert abs(len(loaded) - 8000) <= 1152  # mp3 adds encoder padding
    if suffix in (".flac", ".wav"):
        assert torch.allclose(loaded, signal, atol=1e-4)
