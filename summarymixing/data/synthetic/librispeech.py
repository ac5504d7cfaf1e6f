"""Synthetic LibriSpeech: read English sentences in the real on-disk layout.

Layout (``root`` is what the real recipes call ``data_folder``)::

    root/SPEAKERS.TXT
    root/<split>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt
    root/<split>/<speaker>/<chapter>/<speaker>-<chapter>-<NNNN>.flac

Transcript lines are ``<utterance id> <TEXT IN UPPER CASE>``. As in the real
corpus, every split has its own speakers and its own sentences, and the
``*-other`` splits are harder: extreme speaking rates and pitches and a
signal-to-noise ratio of 15-22 dB (35-45 dB in the clean splits).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .audio import record, write_audio
from .common import corpus_rng, draw_unique, progress_bar, stable_seed
from .text_english import english_sentence
from .tts import synthesize
from .voices import ENGLISH_ACCENTS, Speaker, draw_speakers

NAME = "librispeech"


@dataclass(frozen=True)
class Split:
    """How many speakers, chapters and utterances one split has."""

    name: str
    speakers: int
    chapters: int
    utterances: int

    @property
    def hard(self) -> bool:
        """Whether this is an ``*-other`` split."""
        return self.name.endswith("other")


SCALES = {
    "tiny": (
        Split("train-clean-100", 4, 1, 4),
        Split("dev-clean", 2, 1, 2),
        Split("dev-other", 2, 1, 2),
        Split("test-clean", 2, 1, 2),
        Split("test-other", 2, 1, 2),
    ),
    "small": (
        Split("train-clean-100", 20, 2, 12),
        Split("dev-clean", 4, 1, 12),
        Split("dev-other", 4, 1, 12),
        Split("test-clean", 4, 1, 12),
        Split("test-other", 4, 1, 12),
    ),
}


HELD_OUT_SPLITS = ("dev-clean", "dev-other", "test-clean", "test-other")
"""The splits a model is evaluated on: pre-training audio must not share them."""


@dataclass(frozen=True)
class Chapter:
    """One chapter of a reader: its id and the sentences read in it."""

    chapter_id: int
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Reader:
    """One speaker of one split and what they read."""

    split: str
    speaker_id: int
    speaker: Speaker
    chapters: tuple[Chapter, ...]


def plan(size: str, seed: int) -> tuple[Reader, ...]:
    """Draw who reads what in synthetic LibriSpeech, without synthesising.

    ``build`` writes exactly this plan (it calls this function), so the
    voices and sentences of any split are known without building the corpus.

    Arguments
    ---------
    size : str
        A key of ``SCALES`` (``"tiny"`` or ``"small"``).
    seed : int
        The corpus seed.

    Returns
    -------
    tuple of Reader
        Split by split in ``SCALES[size]`` order, the readers and their chapters.

    Example
    -------
    >>> readers = plan("tiny", seed=0)
    >>> [reader.split for reader in readers].count("dev-clean")
    2
    >>> len(readers[0].chapters[0].sentences)
    4
    """
    splits = SCALES[size]
    speaker_rng = corpus_rng(NAME, seed, "speakers")
    sentence_rng = corpus_rng(NAME, seed, "sentences")
    ids = iter(speaker_rng.sample(range(14, 9000), sum(s.speakers for s in splits)))
    chapter_ids = iter(speaker_rng.sample(range(100, 99999), 1000))
    voices_taken: set[tuple[str, str]] = set()
    sentences_taken: set[str] = set()
    readers = []
    for split in splits:
        speakers = draw_speakers(
            split.speakers, speaker_rng, ENGLISH_ACCENTS, voices_taken, split.hard
        )
        for speaker in speakers:
            speaker_id = next(ids)
            chapters = tuple(
                Chapter(
                    next(chapter_ids),
                    tuple(
                        draw_unique(
                            english_sentence,
                            split.utterances,
                            sentence_rng,
                            sentences_taken,
                        )
                    ),
                )
                for _ in range(split.chapters)
            )
            readers.append(Reader(split.name, speaker_id, speaker, chapters))
    return tuple(readers)


def held_out_voices(size: str, seed: int) -> frozenset[tuple[str, str]]:
    """Return the (language, variant) voices of the dev and test splits.

    Example
    -------
    >>> voices = held_out_voices("tiny", seed=0)
    >>> len(voices), all(language.startswith("en") for language, _ in voices)
    (8, True)
    """
    return frozenset(
        reader.speaker.voice_key
        for reader in plan(size, seed)
        if reader.split in HELD_OUT_SPLITS
    )


def held_out_sentences(size: str, seed: int) -> frozenset[str]:
    """Return the sentences (lower case, as drawn) of the dev and test splits.

    Example
    -------
    >>> len(held_out_sentences("tiny", seed=0))  # 4 splits x 2 speakers x 2
    16
    """
    return frozenset(
        sentence
        for reader in plan(size, seed)
        if reader.split in HELD_OUT_SPLITS
        for chapter in reader.chapters
        for sentence in chapter.sentences
    )


def build(root: Path, size: str, seed: int, progress: bool) -> None:
    """Write every split of synthetic LibriSpeech under ``root``.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> build(root, "tiny", seed=0, progress=False)
    >>> sorted(path.name for path in root.iterdir())[:3]
    ['SPEAKERS.TXT', 'dev-clean', 'dev-other']
    >>> len(list(root.glob("train-clean-100/*/*/*.flac")))
    16
    """
    splits = SCALES[size]
    total = sum(s.speakers * s.chapters * s.utterances for s in splits)
    bar = progress_bar(total, NAME, progress)
    speaker_lines = []
    for reader in plan(size, seed):
        seconds = 0.0
        for chapter in reader.chapters:
            folder = (
                root / reader.split / str(reader.speaker_id) / str(chapter.chapter_id)
            )
            seconds += _write_chapter(
                folder, reader.speaker, list(chapter.sentences), seed, bar
            )
        speaker_lines.append(
            f"{reader.speaker_id:<5}| {reader.speaker.sex} | {reader.split:<16} | "
            f"{seconds / 60:5.2f} | {reader.speaker.voice.name}"
        )
    bar.close()
    header = ";ID  |SEX| SUBSET           |MINUTES| NAME (eSpeak NG voice)\n"
    (root / "SPEAKERS.TXT").write_text(header + "\n".join(speaker_lines) + "\n")


def _write_chapter(
    chapter: Path, speaker: Speaker, sentences: list[str], seed: int, bar: tqdm
) -> float:
    """Synthesise one chapter; return its duration in seconds."""
    prefix = f"{chapter.parent.name}-{chapter.name}"
    lines, seconds = [], 0.0
    for index, sentence in enumerate(sentences):
        utterance_id = f"{prefix}-{index:04d}"
        utterance_seed = stable_seed(NAME, seed, utterance_id)
        rng = corpus_rng(NAME, utterance_seed, "prosody")
        speech = synthesize(sentence, speaker.utterance_voice(rng), utterance_seed)
        samples = record(
            speech.samples,
            speaker.channel,
            utterance_seed,
            lead=rng.uniform(0.1, 0.4),
            tail=rng.uniform(0.1, 0.4),
        )
        write_audio(chapter / f"{utterance_id}.flac", samples, "flac")
        lines.append(f"{utterance_id} {sentence.upper()}")
        seconds += len(samples) / 16000
        bar.update()
    (chapter / f"{prefix}.trans.txt").write_text("\n".join(lines) + "\n")
    return seconds
