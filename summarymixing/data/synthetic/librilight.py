"""Synthetic Libri-Light: long unlabelled readings in the raw (pre-VAD) layout.

Layout (``root`` holds the subsets; ours is ``small``)::

    root/small/<speaker>/<book>/<name>.flac
    root/small/<speaker>/<book>/<name>.json

Each file is a reading of sentences separated by pauses of 0.3 to 1.5 s, at
least 35 s long in ``tiny`` (55 s in ``small``): longer than the 30 s pieces
of the official VAD cutting, so that cutting is exercised. The ``.json`` sidecar
has the real fields ``speaker``, ``book_meta``, ``snr`` and
``voice_activity`` (a list of ``[start, end]`` seconds, exact here since we know
where every sentence is).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import noise_floor, record, write_audio
from .common import corpus_rng, progress_bar, stable_seed
from .text_english import ADJECTIVES, NAMES, NOUNS, english_sentence
from .tts import SAMPLE_RATE, synthesize
from .voices import ENGLISH_ACCENTS, Speaker, draw_speakers

NAME = "librilight"
SUBSET = "small"


@dataclass(frozen=True)
class Scale:
    """Speakers, files per speaker and the least length of a file (seconds)."""

    speakers: int
    files: int
    min_seconds: float


SCALES = {"tiny": Scale(2, 1, 35.0), "small": Scale(8, 2, 55.0)}


def build(root: Path, size: str, seed: int, progress: bool) -> None:
    """Write the raw synthetic Libri-Light subset under ``root / "small"``.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> build(root, "tiny", seed=0, progress=False)
    >>> sidecar = sorted(root.glob("small/*/*/*.json"))[0]
    >>> sorted(json.loads(sidecar.read_text()))
    ['book_meta', 'snr', 'speaker', 'voice_activity']
    """
    scale = SCALES[size]
    rng = corpus_rng(NAME, seed, "plan")
    speakers = draw_speakers(scale.speakers, rng, ENGLISH_ACCENTS, set())
    speaker_ids = rng.sample(range(10, 12000), scale.speakers)
    bar = progress_bar(scale.speakers * scale.files, NAME, progress)
    for speaker, speaker_id in zip(speakers, speaker_ids, strict=True):
        title = f"the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        author = rng.choice(NAMES)
        book = f"{title.replace(' ', '_')}_{rng.randrange(10000):04d}_librivox_64kb_mp3"
        for part in range(1, scale.files + 1):
            name = f"{part:02d}_{author}_{title.replace(' ', '_')}_64kb"
            folder = root / SUBSET / str(speaker_id) / book
            file_seed = stable_seed(NAME, seed, speaker_id, book, part)
            samples, activity = _read_aloud(speaker, file_seed, scale.min_seconds)
            write_audio(folder / f"{name}.flac", samples, "flac")
            meta = {
                "speaker": str(speaker_id),
                "book_meta": {
                    "id": str(rng.randrange(100, 20000)),
                    "title": title.title(),
                    "authors": [{"name": author.title()}],
                    "genre": ["Fiction"],
                    "language": "English",
                    "totaltime": _clock(len(samples) / SAMPLE_RATE),
                },
                "snr": round(
                    speaker.channel.level_dbfs - speaker.channel.noise_dbfs, 2
                ),
                "voice_activity": activity,
            }
            (folder / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")
            bar.update()
    bar.close()


def _read_aloud(
    speaker: Speaker, file_seed: int, min_seconds: float
) -> tuple[np.ndarray, list[list[float]]]:
    """Read sentences with noisy pauses until ``min_seconds``; return the VAD."""
    rng = corpus_rng(NAME, file_seed, "reading")
    pieces = [noise_floor(rng.uniform(0.3, 0.8), speaker.channel.noise_dbfs, file_seed)]
    activity, position = [], len(pieces[0])
    for index in itertools.count():
        if position >= min_seconds * SAMPLE_RATE:
            break
        sentence = english_sentence(rng)
        sentence_seed = stable_seed(file_seed, index)
        speech = synthesize(sentence, speaker.utterance_voice(rng), sentence_seed)
        samples = record(speech.samples, speaker.channel, sentence_seed)
        activity.append(
            [
                round(position / SAMPLE_RATE, 3),
                round((position + len(samples)) / SAMPLE_RATE, 3),
            ]
        )
        pause = noise_floor(
            rng.uniform(0.3, 1.5), speaker.channel.noise_dbfs, sentence_seed + 1
        )
        pieces += [samples, pause]
        position += len(samples) + len(pause)
    return np.concatenate(pieces), activity


def _clock(seconds: float) -> str:
    """``h:mm:ss`` as in LibriVox metadata."""
    minutes, second = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{second:02d}"
