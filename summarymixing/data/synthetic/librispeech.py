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
    speaker_rng = corpus_rng(NAME, seed, "speakers")
    sentence_rng = corpus_rng(NAME, seed, "sentences")
    ids = iter(speaker_rng.sample(range(14, 9000), sum(s.speakers for s in splits)))
    chapter_ids = iter(speaker_rng.sample(range(100, 99999), 1000))
    voices_taken: set[tuple[str, str]] = set()
    sentences_taken: set[str] = set()
    total = sum(s.speakers * s.chapters * s.utterances for s in splits)
    bar = progress_bar(total, NAME, progress)
    speaker_lines = []
    for split in splits:
        speakers = draw_speakers(
            split.speakers, speaker_rng, ENGLISH_ACCENTS, voices_taken, split.hard
        )
        for speaker in speakers:
            speaker_id = next(ids)
            seconds = 0.0
            for _ in range(split.chapters):
                chapter = root / split.name / str(speaker_id) / str(next(chapter_ids))
                sentences = draw_unique(
                    english_sentence, split.utterances, sentence_rng, sentences_taken
                )
                seconds += _write_chapter(chapter, speaker, sentences, seed, bar)
            speaker_lines.append(
                f"{speaker_id:<5}| {speaker.sex} | {split.name:<16} | "
                f"{seconds / 60:5.2f} | {speaker.voice.name}"
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
