"""Speech synthesis for the corpora: eSpeak NG at 16 kHz, deterministic.

``synthesize`` speaks a text with a ``Voice`` (language, variant, prosody) and
returns 16 kHz int16 samples, resampled from eSpeak's 22.05 kHz with a
polyphase filter (320/441), and the onset of every word. The result depends
only on the arguments (see ``espeak`` for how). One eSpeak instance serves the
process, behind a lock.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import numpy as np
from scipy.signal import firwin, resample_poly

from .espeak import ESPEAK_SAMPLE_RATE, LANGUAGES, ESpeakNG, Voice

SAMPLE_RATE = 16000
__all__ = [
    "ESPEAK_SAMPLE_RATE",
    "LANGUAGES",
    "SAMPLE_RATE",
    "Speech",
    "Voice",
    "phonemize",
    "synthesize",
    "voice_variants",
]


@dataclass(frozen=True)
class Speech:
    """One synthesised utterance.

    Arguments
    ---------
    samples : numpy.ndarray
        Mono int16 waveform at ``SAMPLE_RATE`` (16 kHz).
    word_onsets : tuple of (int, float)
        For each spoken word: its character offset in the text and the time in
        seconds at which eSpeak starts it.
    """

    samples: np.ndarray
    word_onsets: tuple[tuple[int, float], ...]

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / SAMPLE_RATE


@functools.cache
def _resampling_filter() -> np.ndarray:
    """Return the low-pass filter that ``resample_poly(x, 320, 441)`` designs.

    Designed once here (what scipy does: 20 * 441 + 1 taps, cutoff 1/441 of
    Nyquist, Kaiser window with beta 5), the output is the same, bit for bit.
    """
    return firwin(2 * 10 * 441 + 1, 1.0 / 441, window=("kaiser", 5.0))


def _resample_to_16k(samples: np.ndarray) -> np.ndarray:
    """22.05 kHz int16 -> 16 kHz int16 (polyphase, 320/441)."""
    if len(samples) == 0:
        return samples.astype(np.int16)
    resampled = resample_poly(
        samples.astype(np.float64), 320, 441, window=_resampling_filter()
    )
    return np.clip(np.round(resampled), -32768, 32767).astype(np.int16)


_engine: ESpeakNG | None = None
_lock = threading.Lock()


def _get_engine() -> ESpeakNG:
    global _engine
    if _engine is None:
        _engine = ESpeakNG()
    return _engine


def synthesize(text: str, voice: Voice | None = None, seed: int = 0) -> Speech:
    """Speak ``text`` and return 16 kHz int16 samples with word onsets.

    The result depends only on the arguments: the same call gives the same
    samples, whatever was synthesised before in the process.

    Arguments
    ---------
    text : str
        What to say (UTF-8; no SSML).
    voice : Voice, optional
        Language, variant and prosody (default: ``Voice()``, US English ``m3``).
    seed : int
        Seed of eSpeak's noise generator (breath, frication).

    Returns
    -------
    Speech
        The samples and, per word, its character offset and onset in seconds.

    Example
    -------
    >>> speech = synthesize("hello world", Voice("en-us", "f3"))
    >>> speech.samples.dtype, 0.5 < speech.duration < 2.0, len(speech.word_onsets)
    (dtype('int16'), True, 2)
    >>> bool(np.array_equal(speech.samples, synthesize("hello world", Voice("en-us", "f3")).samples))
    True
    """  # noqa: E501
    voice = voice or Voice()
    with _lock:
        raw, onsets = _get_engine().speak(text, voice, seed)
    return Speech(_resample_to_16k(raw), tuple(onsets))


def phonemize(text: str, language: str = "en-us") -> str:
    """Return eSpeak's phoneme string (Kirshenbaum-like ASCII) for ``text``.

    Example
    -------
    >>> phonemize("hello")
    "h@l'oU"
    """
    if language not in LANGUAGES:
        raise ValueError(
            f"unknown eSpeak language {language!r}; "
            f"valid languages: {', '.join(LANGUAGES)}"
        )
    with _lock:
        return _get_engine().phonemes(text, language)


def voice_variants() -> tuple[str, ...]:
    """Names of all voice variants eSpeak NG offers here.

    Example
    -------
    >>> {"m3", "f3", "klatt"} <= set(voice_variants())
    True
    """
    with _lock:
        return _get_engine().variants
