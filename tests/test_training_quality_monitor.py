"""The pre-training quality monitor: it tells features apart and leaves the run alone.

A tiny labelled corpus in the LibriSpeech layout is written where each letter
is a tone of its own pitch, so that an encoder that reads the spectrum carries
the transcript and one that returns noise does not.
"""

import numpy as np
import pytest
import torch

from summarymixing.data.audio import write_audio
from summarymixing.training.quality_monitor import (
    MonitorReading,
    QualityMonitor,
    labelled_utterances,
    make_quality_monitor,
    speaker_eer,
)

SAMPLE_RATE = 16000
TONES = {"A": 500.0, "B": 1500.0, "C": 3000.0}
FRAME = 320  # 20 ms


def tone_word(text: str, rng: np.random.Generator) -> np.ndarray:
    pieces = []
    for char in text:
        samples = int(rng.uniform(0.12, 0.2) * SAMPLE_RATE)
        t = np.arange(samples) / SAMPLE_RATE
        pieces += [0.3 * np.sin(2 * np.pi * TONES[char] * t), np.zeros(800)]
    return np.concatenate(pieces).astype(np.float32)


def write_tone_corpus(root, utterances_per_split=(24, 8)):
    rng = np.random.default_rng(0)
    for split, count, speaker in zip(
        ("train-clean-100", "dev-clean"),
        utterances_per_split,
        ("11", "22"),
        strict=True,
    ):
        chapter = root / split / speaker / "7"
        chapter.mkdir(parents=True)
        lines = []
        for index in range(count):
            text = "".join(rng.choice(list(TONES), size=rng.integers(2, 5)))
            utterance = f"{speaker}-7-{index:04d}"
            write_audio(
                chapter / f"{utterance}.flac",
                torch.from_numpy(tone_word(text, rng)),
                SAMPLE_RATE,
            )
            lines.append(f"{utterance} {text}")
        (chapter / f"{speaker}-7.trans.txt").write_text("\n".join(lines) + "\n")
    return root


def frames(wavs: torch.Tensor) -> torch.Tensor:
    return wavs[:, : wavs.shape[1] // FRAME * FRAME].unfold(1, FRAME, FRAME)


def padding_of(wavs: torch.Tensor, wav_lens: torch.Tensor) -> torch.Tensor:
    count = wavs.shape[1] // FRAME
    real = (wav_lens * wavs.shape[1] / FRAME).floor().long()
    return torch.arange(count)[None] >= real[:, None]


def spectral_encoder(wavs, wav_lens):
    """Log energy in three bands around the tones: carries the transcript."""
    spectrum = torch.fft.rfft(frames(wavs), dim=-1).abs() ** 2
    bins = torch.fft.rfftfreq(FRAME, 1 / SAMPLE_RATE)
    bands = [(bins - f).abs() < 250 for f in TONES.values()]
    energy = torch.stack([spectrum[..., band].sum(-1) for band in bands], dim=-1)
    return [torch.log(energy + 1e-6)], padding_of(wavs, wav_lens)


def noise_encoder(wavs, wav_lens):
    """Features that say nothing about the audio."""
    generator = torch.Generator().manual_seed(1)
    shape = (*frames(wavs).shape[:2], 3)
    return [torch.randn(shape, generator=generator)], padding_of(wavs, wav_lens)


@pytest.fixture(scope="module")
def monitor(tmp_path_factory):
    root = write_tone_corpus(tmp_path_factory.mktemp("tones") / "LibriSpeech")
    return QualityMonitor(
        root, probe_steps=150, hidden_size=16, learning_rate=0.02, batch_size=8
    )


def test_the_monitor_tells_informative_features_from_noise(monitor):
    informative = monitor.evaluate(spectral_encoder, optimizer_step=0).cer
    noise = monitor.evaluate(noise_encoder, optimizer_step=1).cer
    assert informative < 35.0 < 70.0 < noise
    assert [step for step, _ in monitor.history[-2:]] == [0, 1]


def test_two_readings_of_the_same_features_agree_and_leave_the_rng_alone(monitor):
    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    first = monitor.evaluate(spectral_encoder, optimizer_step=5)
    second = monitor.evaluate(spectral_encoder, optimizer_step=6)
    assert first == second
    assert torch.equal(torch.rand(4), expected)


def test_history_survives_a_checkpoint(monitor, tmp_path):
    monitor.history = [(0, 61.0), (100, 55.5)]
    monitor.speaker_history = [(0, 10.0), (100, 8.0)]
    monitor._save(tmp_path / "monitor.ckpt")
    monitor.history, monitor.speaker_history = [], []
    monitor._load(tmp_path / "monitor.ckpt")
    assert monitor.history == [(0, 61.0), (100, 55.5)]
    assert monitor.speaker_history == [(0, 10.0), (100, 8.0)]
    cer_line, speaker_line = monitor.verdict().splitlines()
    assert "beat the untrained encoder" in cer_line
    assert "10.0 % before training -> 8.0 % at step 100: better" in speaker_line
    monitor.history = [(0, 50.0), (100, 55.5)]
    monitor.speaker_history = [(0, 10.0), (100, 12.0)]
    cer_line, speaker_line = monitor.verdict().splitlines()
    assert "do NOT beat the untrained encoder" in cer_line
    assert "no better than the untrained encoder" in speaker_line


def test_a_checkpoint_from_before_the_speaker_reading_still_loads(monitor, tmp_path):
    torch.save({"history": [(0, 61.0), (100, 55.5)]}, tmp_path / "old.ckpt")
    monitor._load(tmp_path / "old.ckpt")
    assert monitor.speaker_history == [(0, None), (100, None)]
    assert len(monitor.verdict().splitlines()) == 1


def test_the_speaker_reading_tells_voices_apart_and_is_logged(monitor, caplog):
    eer = speaker_eer(
        [torch.randn(30, 8) * (1 + k // 6) + 3 - k // 6 * 6 for k in range(12)],
        ["11"] * 6 + ["22"] * 6,
    )
    assert eer == 0.0
    chance = speaker_eer(
        [
            torch.randn(30, 3, generator=torch.Generator().manual_seed(k))
            for k in range(40)
        ],
        [str(k % 2) for k in range(40)],
    )
    assert 25.0 < chance < 75.0
    with caplog.at_level("INFO"):
        reading = monitor.evaluate(spectral_encoder, optimizer_step=7)
    assert isinstance(reading, MonitorReading)
    assert reading.speaker_eer is not None and 0.0 <= reading.speaker_eer <= 100.0
    assert monitor.speaker_history[-1] == (7, reading.speaker_eer)
    assert f"speaker EER {reading.speaker_eer:.1f} %" in caplog.text
    assert reading.as_record()["monitor_speaker_eer"] == reading.speaker_eer


def test_utterances_are_taken_from_every_speaker_in_turn(tmp_path):
    root = tmp_path / "LibriSpeech"
    for speaker in ("3", "4"):
        chapter = root / "dev-clean" / speaker / "1"
        chapter.mkdir(parents=True)
        lines = [f"{speaker}-1-{k:04d} A" for k in range(3)]
        (chapter / f"{speaker}-1.trans.txt").write_text("\n".join(lines))
    chosen = labelled_utterances(root, "dev-clean", 4)
    assert [path.name[0] for path, _ in chosen] == ["3", "4", "3", "4"]


def test_a_missing_split_names_the_folder_and_the_switch(tmp_path):
    with pytest.raises(FileNotFoundError, match="--quality_monitor false"):
        QualityMonitor(tmp_path, train_split="train-clean-100")


def test_the_configuration_turns_it_on_and_off(monitor, tmp_path):
    assert make_quality_monitor({"quality_monitor": False}) is None
    keys = {"quality_monitor": True, "monitor_folder": None, "valid_folder": None}
    assert make_quality_monitor(keys) is None
    root = write_tone_corpus(tmp_path / "LibriSpeech", (4, 2))
    keys |= {
        "valid_folder": str(root),
        "monitor_train_split": "train-clean-100",
        "monitor_test_split": "dev-clean",
        "monitor_train_utterances": 3,
        "monitor_test_utterances": 2,
        "monitor_probe_steps": 1,
        "sample_rate": SAMPLE_RATE,
        "seed": 0,
    }
    built = make_quality_monitor(keys)
    assert len(built.train_texts) == 3 and len(built.test_texts) == 2
