"""eSpeak NG binding: 16 kHz speech, determinism, distinct voices, clear errors."""

import sys

import numpy as np
import pytest

from summarymixing.data.synthetic import LANGUAGES, Voice, phonemize, synthesize
from summarymixing.data.synthetic.espeak import import_espeakng_loader
from summarymixing.data.synthetic.tts import voice_variants

SENTENCE = "the old captain walked slowly across the bridge toward the castle"


def median_f0(samples: np.ndarray, rate: int = 16000) -> float:
    """Median autocorrelation pitch (Hz) over clearly voiced 40 ms frames."""
    x = samples.astype(np.float64)
    frame, hop = 640, 160
    lags = np.arange(rate // 400, rate // 60)
    f0s = []
    for start in range(0, len(x) - frame, hop):
        chunk = x[start : start + frame] - x[start : start + frame].mean()
        energy = np.dot(chunk, chunk)
        if energy < len(chunk) * 300.0**2:
            continue
        corr = np.array([np.dot(chunk[:-lag], chunk[lag:]) for lag in lags]) / energy
        if corr.max() > 0.6:
            f0s.append(rate / lags[corr.argmax()])
    assert len(f0s) > 20, "too few voiced frames"
    return float(np.median(f0s))


def long_term_spectrum(samples: np.ndarray) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(samples.astype(float), 512)[::256]
    power = (np.abs(np.fft.rfft(frames * np.hanning(512), axis=1)) ** 2).mean(0)
    log = np.log10(power + 1e-3)
    return log - log.mean()


def test_output_is_16k_int16_speech_with_plausible_tempo():
    speech = synthesize(SENTENCE, Voice("en-us", "m3", rate=175))
    assert speech.samples.dtype == np.int16 and speech.samples.ndim == 1
    words_per_second = len(SENTENCE.split()) / speech.duration
    assert 1.5 < words_per_second < 5.0
    rms = np.sqrt(np.mean(speech.samples.astype(float) ** 2))
    assert 500 < rms < 15000
    short = synthesize("the castle", Voice("en-us", "m3", rate=175))
    assert short.duration < speech.duration / 3


def test_word_onsets_are_ordered_and_inside_the_utterance():
    speech = synthesize(SENTENCE, Voice("en-gb-scotland", "f2"))
    positions = [position for position, _ in speech.word_onsets]
    times = [seconds for _, seconds in speech.word_onsets]
    assert positions[0] == 0 and positions == sorted(positions)
    assert times == sorted(times) and times[-1] < speech.duration
    assert len(SENTENCE.split()) - 2 <= len(times) <= len(SENTENCE.split())


def test_same_call_gives_same_bytes_whatever_came_before():
    voices = [Voice("en-us", "f3"), Voice("cy", "klatt3", pitch=20), Voice("eu", "m7")]
    reference = [
        synthesize(SENTENCE, voice, seed=5).samples.tobytes() for voice in voices
    ]
    rng = np.random.default_rng(0)
    variants = voice_variants()
    for _ in range(30):
        noisy = Voice(
            str(rng.choice(LANGUAGES)),
            str(rng.choice(variants)),
            pitch=int(rng.integers(0, 100)),
            rate=int(rng.integers(80, 451)),
            volume=int(rng.integers(1, 201)),
        )
        synthesize("a loud and strange interruption", noisy, seed=int(rng.integers(99)))
        again = [
            synthesize(SENTENCE, voice, seed=5).samples.tobytes() for voice in voices
        ]
        assert again == reference


def test_seed_drives_the_breath_noise():
    breathy = Voice("en-us", "f3")  # the f3 variant adds breath noise
    one = synthesize(SENTENCE, breathy, seed=1).samples
    two = synthesize(SENTENCE, breathy, seed=2).samples
    assert len(one) == len(two) and not np.array_equal(one, two)


def test_voices_differ_in_pitch_and_timbre():
    male = median_f0(synthesize(SENTENCE, Voice("en-us", "m3")).samples)
    female = median_f0(synthesize(SENTENCE, Voice("en-us", "f3")).samples)
    assert 70 < male < 180 and female > 1.4 * male
    low = median_f0(synthesize(SENTENCE, Voice("en-us", "m3", pitch=20)).samples)
    high = median_f0(synthesize(SENTENCE, Voice("en-us", "m3", pitch=80)).samples)
    assert high > 1.3 * low
    spectra = [
        long_term_spectrum(synthesize(SENTENCE, Voice("en-us", variant)).samples)
        for variant in ("m1", "m7", "klatt4")
    ]
    for i in range(3):
        for j in range(i + 1, 3):
            assert np.abs(spectra[i] - spectra[j]).mean() > 0.05


@pytest.mark.parametrize(
    "language, text",
    [("cy", "Mae'r tŷ yn fawr iawn heddiw."), ("eu", "Gaur eguraldi ona dago.")],
)
def test_welsh_and_basque_are_spoken_with_their_own_rules(language, text):
    speech = synthesize(text, Voice(language, "f1"))
    assert speech.duration > 0.8
    assert np.abs(speech.samples).max() > 3000
    assert phonemize("heddiw", language) != phonemize("heddiw", "en-us")


def test_unknown_language_variant_or_range_is_a_clear_error():
    with pytest.raises(ValueError, match="valid languages: en-us, en,.* cy, eu"):
        Voice("fr")
    with pytest.raises(ValueError, match="unknown eSpeak voice variant 'nobody'.*m3"):
        synthesize("hello", Voice("en-us", "nobody"))
    with pytest.raises(ValueError, match=r"Voice.rate=500 is outside \[80, 450\]"):
        Voice(rate=500)
    with pytest.raises(ValueError, match="valid languages"):
        phonemize("hello", "xx")


def test_missing_espeakng_loader_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)
    with pytest.raises(ImportError, match=r"summarymixing\[synth\]") as raised:
        import_espeakng_loader()
    assert "pip install espeakng-loader" in str(raised.value)
