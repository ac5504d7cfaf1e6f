"""Synthetic Libri-Light: long unlabelled readings in the raw (pre-VAD) layout.

Layout (``root`` holds the subsets; ours is ``small``)::

    root/small/<speaker>/<book>/<name>.flac
    root/small/<speaker>/<book>/<name>.json

Each file is a reading of sentences separated by pauses of 0.3 to 1.5 s,
longer than the 30 s pieces of the official VAD cutting, so that cutting is
exercised. The ``.json`` sidecar has the real fields ``speaker``,
``book_meta``, ``snr`` and ``voice_activity`` (a list of ``[start, end]``
seconds, exact here since we know where every sentence is).

Two kinds of scale:

* ``size`` (``tiny``: 2 speakers, one file of at least 35 s each; ``small``: 8
  speakers, two files of at least 55 s each), for tests and the demo;
* ``hours``: pre-training audio that a model cannot memorise. The subset holds
  at least ``hours`` hours (a few percent more at most), each speaker reading
  about ``MINUTES_PER_SPEAKER`` minutes as files of about ``FILE_SECONDS``
  seconds (3 h: 45 speakers). Every speaker is another eSpeak voice; once the
  pool of voices is used up (about 14 h), speakers read longer, up to
  ``MAX_MINUTES_PER_SPEAKER`` minutes, and more hours than that are refused.

As Libri-Light leaves out the LibriSpeech dev and test speakers, an
hours-sized build never uses a voice (``Speaker.voice_key``) of the
held-out probe splits (LibriSpeech dev and test, VoxCeleb1 test speakers),
nor a sentence of the LibriSpeech held-out splits, for either size of those
corpora (``held_out.probe_held_out``). ``tiny`` and ``small`` skip those
sentences too, which changed none of their files (none of those sentences
came up there; checked for seeds 0 to 9), but draw their voices as they always
have: excluding the held-out voices would change every file.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import noise_floor, record, write_audio
from .common import corpus_rng, draw_unique, progress_bar, stable_seed
from .held_out import probe_held_out
from .text_english import ADJECTIVES, NAMES, NOUNS, english_sentence
from .tts import SAMPLE_RATE, synthesize
from .voices import ENGLISH_ACCENTS, Speaker, draw_speakers, speaker_capacity

NAME = "librilight"
SUBSET = "small"
MINUTES_PER_SPEAKER = 4.0
"""How long each speaker of an hours-sized build reads (while voices last)."""
MAX_MINUTES_PER_SPEAKER = 8.0
"""The longest a speaker reads when the voice pool is used up."""
FILE_SECONDS = 60.0
"""About how long each file of an hours-sized build is."""
MIN_FILE_SECONDS = 35.0
"""No file is shorter: the VAD cutting into pieces of at most 30 s must cut."""
FLAC_BYTES_PER_SECOND = 24_000
"""Conservative FLAC size of one second of this corpus (measured: 17-18 kB)."""


@dataclass(frozen=True)
class Scale:
    """Speakers, files per speaker and the least length of a file (seconds)."""

    speakers: int
    files: int
    min_seconds: float


SCALES = {"tiny": Scale(2, 1, 35.0), "small": Scale(8, 2, 55.0)}


@dataclass(frozen=True)
class Reader:
    """One Libri-Light speaker: voice, book, files and how long they read.

    Arguments
    ---------
    speaker_id : int
        The speaker folder's name.
    speaker : Speaker
        Voice and recording conditions.
    title, author : str
        The book read (lower case).
    book : str
        The book folder's name.
    book_ids : tuple of str
        The ``book_meta`` id of each file; one file per entry.
    seconds : float
        Least total length of the reader's files (0: no total, only
        ``min_file_seconds``). Each file aims at an equal share of what is left.
    min_file_seconds : float
        Least length of every file.
    """

    speaker_id: int
    speaker: Speaker
    title: str
    author: str
    book: str
    book_ids: tuple[str, ...]
    seconds: float
    min_file_seconds: float


def plan(size: str, seed: int, hours: float | None = None) -> tuple[Reader, ...]:
    """Draw the readers of synthetic Libri-Light, without synthesising.

    Arguments
    ---------
    size : str
        A key of ``SCALES``; unused when ``hours`` is given.
    seed : int
        The corpus seed.
    hours : float, optional
        Build about this many hours (at least this many) instead of ``size``.

    Returns
    -------
    tuple of Reader

    Raises
    ------
    ValueError
        If ``hours`` needs more voices than the pool has.

    Example
    -------
    >>> readers = plan("tiny", seed=0, hours=3.0)
    >>> len(readers), len(readers[0].book_ids), readers[0].seconds
    (45, 4, 240.0)
    >>> len({reader.speaker.voice_key for reader in readers})
    45
    >>> plan("tiny", seed=0, hours=100.0)
    Traceback (most recent call last):
    ...
    ValueError: librilight with hours=100 needs 750 speakers reading 8 minutes each, but only 216 distinct voices are left once the held-out LibriSpeech and VoxCeleb1 voices are excluded; ask for at most 28.8 hours
    """  # noqa: E501
    if hours is None:
        scale = SCALES[size]
        rng = corpus_rng(NAME, seed, "plan")
        speakers = draw_speakers(scale.speakers, rng, ENGLISH_ACCENTS, set())
        files, seconds, min_seconds = scale.files, 0.0, scale.min_seconds
    else:
        voices_taken = set(probe_held_out(seed).voices)
        count, files, seconds = _hours_layout(
            hours, speaker_capacity(ENGLISH_ACCENTS, voices_taken)
        )
        rng = corpus_rng(NAME, seed, "hours")
        speakers = draw_speakers(count, rng, ENGLISH_ACCENTS, voices_taken)
        min_seconds = MIN_FILE_SECONDS
    speaker_ids = rng.sample(range(10, 12000), len(speakers))
    readers = []
    for speaker, speaker_id in zip(speakers, speaker_ids, strict=True):
        title = f"the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        author = rng.choice(NAMES)
        book = f"{title.replace(' ', '_')}_{rng.randrange(10000):04d}_librivox_64kb_mp3"
        book_ids = tuple(str(rng.randrange(100, 20000)) for _ in range(files))
        readers.append(
            Reader(
                speaker_id, speaker, title, author, book, book_ids, seconds, min_seconds
            )
        )
    return tuple(readers)


def _hours_layout(hours: float, capacity: int) -> tuple[int, int, float]:
    """Speakers, files per speaker and seconds per speaker for ``hours``."""
    total = hours * 3600.0
    wanted = max(1, math.ceil(total / (MINUTES_PER_SPEAKER * 60.0) - 1e-9))
    speakers = min(wanted, capacity)
    if speakers == 0 or total / speakers > MAX_MINUTES_PER_SPEAKER * 60.0:
        needed = math.ceil(total / (MAX_MINUTES_PER_SPEAKER * 60.0) - 1e-9)
        most = capacity * MAX_MINUTES_PER_SPEAKER / 60.0
        raise ValueError(
            f"{NAME} with hours={hours:g} needs {needed} speakers reading "
            f"{MAX_MINUTES_PER_SPEAKER:g} minutes each, but only {capacity} distinct "
            "voices are left once the held-out LibriSpeech and VoxCeleb1 voices are "
            f"excluded; ask for at most {math.floor(most * 10) / 10:g} hours"
        )
    seconds = total / speakers
    return speakers, max(1, round(seconds / FILE_SECONDS)), seconds


def bytes_needed(hours: float) -> int:
    """Disk bytes to set aside for ``hours``: the FLAC files and their VAD pieces.

    Pre-training's VAD cutting writes the audio a second time, as pieces.

    Example
    -------
    >>> round(bytes_needed(3.0) / 1e9, 2)
    0.53
    """
    seconds = hours * 3600.0 * 1.02  # a file ends after the sentence that fills it
    return math.ceil(2 * seconds * FLAC_BYTES_PER_SECOND)


def check_free_space(folder: Path, hours: float) -> None:
    """Raise ``ValueError`` if ``folder``'s disk has no room for ``hours``.

    Arguments
    ---------
    folder : Path
        Where the corpus will go (need not exist yet).
    hours : float
        Hours of audio to build.

    Example
    -------
    >>> import tempfile
    >>> check_free_space(Path(tempfile.mkdtemp()) / "not" / "yet", 0.01)
    >>> check_free_space(Path(tempfile.mkdtemp()), 1e9)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: not enough free disk space for 1e+09 hours of synthetic librilight in ...: ... GB needed ... GB free; ask for fewer hours or pass another output folder (--out)
    """  # noqa: E501
    existing = Path(folder).absolute()
    while not existing.exists():
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    needed = bytes_needed(hours)
    if free < needed:
        raise ValueError(
            f"not enough free disk space for {hours:g} hours of synthetic {NAME} in "
            f"{folder}: about {needed / 1e9:.2f} GB needed (the FLAC files, then "
            f"their VAD-cut pieces), {free / 1e9:.2f} GB free; ask for fewer hours "
            "or pass another output folder (--out)"
        )


def check_hours(folder: Path, hours: float, seed: int) -> None:
    """Raise ``ValueError`` now if ``hours`` cannot be built into ``folder``.

    For a build that would fail for want of voices (``plan``) or of disk space
    (``check_free_space``): both are known before anything is written.

    Example
    -------
    >>> import tempfile
    >>> check_hours(Path(tempfile.mkdtemp()), 0.5, seed=0)
    """
    plan("tiny", seed, hours)
    check_free_space(folder, hours)


def build(
    root: Path, size: str, seed: int, progress: bool, hours: float | None = None
) -> None:
    """Write the raw synthetic Libri-Light subset under ``root / "small"``.

    Arguments
    ---------
    root : Path
        The corpus root.
    size : str
        ``"tiny"`` or ``"small"``; unused when ``hours`` is given.
    seed : int
        Same seed, byte-identical files.
    progress : bool
        Show a tqdm progress bar.
    hours : float, optional
        Build at least this many hours (see the module docstring).

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> build(root, "tiny", seed=0, progress=False)
    >>> sidecar = sorted(root.glob("small/*/*/*.json"))[0]
    >>> sorted(json.loads(sidecar.read_text()))
    ['book_meta', 'snr', 'speaker', 'voice_activity']
    """
    readers = plan(size, seed, hours)
    held_out_sentences = probe_held_out(seed).sentences
    bar = progress_bar(sum(len(r.book_ids) for r in readers), NAME, progress)
    for reader in readers:
        sentences_taken = set(held_out_sentences)
        seconds_read = 0.0
        for part, book_id in enumerate(reader.book_ids, start=1):
            title = reader.title.replace(" ", "_")
            name = f"{part:02d}_{reader.author}_{title}_64kb"
            folder = root / SUBSET / str(reader.speaker_id) / reader.book
            file_seed = stable_seed(NAME, seed, reader.speaker_id, reader.book, part)
            files_left = len(reader.book_ids) - part + 1
            min_seconds = max(
                reader.min_file_seconds, (reader.seconds - seconds_read) / files_left
            )
            samples, activity = _read_aloud(
                reader.speaker, file_seed, min_seconds, sentences_taken
            )
            seconds_read += len(samples) / SAMPLE_RATE
            write_audio(folder / f"{name}.flac", samples, "flac")
            meta = {
                "speaker": str(reader.speaker_id),
                "book_meta": {
                    "id": book_id,
                    "title": reader.title.title(),
                    "authors": [{"name": reader.author.title()}],
                    "genre": ["Fiction"],
                    "language": "English",
                    "totaltime": _clock(len(samples) / SAMPLE_RATE),
                },
                "snr": round(
                    reader.speaker.channel.level_dbfs
                    - reader.speaker.channel.noise_dbfs,
                    2,
                ),
                "voice_activity": activity,
            }
            (folder / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")
            bar.update()
    bar.close()


def _read_aloud(
    speaker: Speaker, file_seed: int, min_seconds: float, sentences_taken: set[str]
) -> tuple[np.ndarray, list[list[float]]]:
    """Read new sentences with noisy pauses until ``min_seconds``; return the VAD.

    Sentences in ``sentences_taken`` are skipped; those read are added to it.
    """
    rng = corpus_rng(NAME, file_seed, "reading")
    pieces = [noise_floor(rng.uniform(0.3, 0.8), speaker.channel.noise_dbfs, file_seed)]
    activity, position = [], len(pieces[0])
    for index in itertools.count():
        if position >= min_seconds * SAMPLE_RATE:
            break
        (sentence,) = draw_unique(english_sentence, 1, rng, sentences_taken)
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
