"""From synthesised speech to recording-like 16 kHz files.

eSpeak's output is digitally clean: exact zeros between words and a level set by
the voice. A recording has a level of its own, some silence before and after
the speech, and a noise floor (what keeps log-mel features finite in pauses).
The functions here add those, deterministically from a seed, and write the
formats the real corpora use (FLAC, WAV, MP3) with ``soundfile``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

from .tts import SAMPLE_RATE

FORMATS = {"flac": ("FLAC", "PCM_16"), "wav": ("WAV", "PCM_16"), "mp3": ("MP3", None)}


@dataclass(frozen=True)
class Channel:
    """Recording conditions: speech level, noise floor and spectral tilt.

    Arguments
    ---------
    level_dbfs : float
        RMS level of the speech, in dB relative to full scale.
    noise_dbfs : float
        RMS level of the background noise, in dB relative to full scale.
    tilt : float
        Spectral tilt in (-1, 1): negative is a one-pole low-pass with pole
        ``-tilt`` (duller: a far microphone, a codec, low vocal effort),
        positive a pre-emphasis ``x[n] - tilt * x[n - 1]`` (brighter: high
        vocal effort), 0 leaves the speech as it is.
    """

    level_dbfs: float = -22.0
    noise_dbfs: float = -60.0
    tilt: float = 0.0


def _dbfs_to_amplitude(dbfs: float) -> float:
    return 32768.0 * 10.0 ** (dbfs / 20.0)


def record(
    speech: np.ndarray,
    channel: Channel,
    seed: int,
    lead: float = 0.0,
    tail: float = 0.0,
) -> np.ndarray:
    """Scale, colour, pad with silence and add the noise floor.

    Arguments
    ---------
    speech : numpy.ndarray
        int16 samples at 16 kHz.
    channel : Channel
        Level, noise and colouring.
    seed : int
        Seed of the noise.
    lead, tail : float
        Seconds of (noisy) silence before and after the speech.

    Returns
    -------
    numpy.ndarray
        int16 samples, ``lead + len(speech) + tail`` long.

    Example
    -------
    >>> tone = (8000 * np.sin(np.arange(16000) / 5)).astype(np.int16)
    >>> out = record(tone, Channel(level_dbfs=-20.0), seed=0, lead=0.5)
    >>> len(out), round(20 * np.log10(np.std(out[8000:] / 32768.0)))
    (24000, -20)
    """
    signal = speech.astype(np.float64)
    if channel.tilt < 0:
        signal = lfilter([1.0 + channel.tilt], [1.0, channel.tilt], signal)
    elif channel.tilt > 0:
        signal = lfilter([1.0, -channel.tilt], [1.0], signal)
    rms = np.sqrt(np.mean(signal**2)) if len(signal) else 0.0
    if rms > 0:
        signal *= _dbfs_to_amplitude(channel.level_dbfs) / rms
    before, after = round(lead * SAMPLE_RATE), round(tail * SAMPLE_RATE)
    signal = np.concatenate([np.zeros(before), signal, np.zeros(after)])
    noise = np.random.default_rng(seed).standard_normal(len(signal))
    signal += _dbfs_to_amplitude(channel.noise_dbfs) * noise
    return to_int16(signal)


def to_int16(signal: np.ndarray) -> np.ndarray:
    """Round and clip to int16.

    Example
    -------
    >>> to_int16(np.array([0.4, 40000.0, -1e6])).tolist()
    [0, 32767, -32768]
    """
    return np.clip(np.round(signal), -32768, 32767).astype(np.int16)


def noise_floor(seconds: float, noise_dbfs: float, seed: int) -> np.ndarray:
    """Background noise alone, e.g. a pause between sentences of a long file.

    Example
    -------
    >>> noise_floor(0.25, -60.0, seed=1).shape
    (4000,)
    """
    noise = np.random.default_rng(seed).standard_normal(round(seconds * SAMPLE_RATE))
    return to_int16(_dbfs_to_amplitude(noise_dbfs) * noise)


def speech_end(speech: np.ndarray, threshold: int = 200) -> float:
    """Return the time in seconds just after the last sample above ``threshold``.

    Example
    -------
    >>> speech_end(np.r_[np.full(1600, 1000), np.zeros(800)].astype(np.int16))
    0.1
    """
    loud = np.flatnonzero(np.abs(speech.astype(np.int32)) > threshold)
    return float(loud[-1] + 1) / SAMPLE_RATE if len(loud) else 0.0


def write_audio(path: Path, samples: np.ndarray, audio_format: str) -> None:
    """Write 16 kHz mono int16 ``samples`` as FLAC, WAV or MP3 (makes folders).

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "a" / "x.flac"
    >>> write_audio(path, np.zeros(1600, np.int16), "flac")
    >>> sf.info(str(path)).samplerate, sf.info(str(path)).frames
    (16000, 1600)
    """
    if audio_format not in FORMATS:
        raise ValueError(
            f"unknown audio format {audio_format!r}; "
            f"valid formats: {', '.join(FORMATS)}"
        )
    container, subtype = FORMATS[audio_format]
    if container not in sf.available_formats():
        raise RuntimeError(
            f"this libsndfile ({sf.__libsndfile_version__}) cannot write {container}; "
            "MP3 needs libsndfile >= 1.1: pip install --upgrade soundfile"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), samples, SAMPLE_RATE, format=container, subtype=subtype)
