"""Synthetic Buckeye: interview sessions with time-aligned word files.

Layout (``root`` holds the unzipped speaker folders)::

    root/s<NN>/s<NN>01a.wav     16 kHz mono
    root/s<NN>/s<NN>01a.words   time-aligned words
    root/s<NN>/s<NN>01a.txt     the speaker's sentences, one per line

Speakers are ``s01`` onwards for training plus ``s36``-``s37`` (dev) and
``s38``-``s40`` (test), the MP3S split. A ``.words`` file has Buckeye's
8-line header ending with ``#``, then one line per segment: its END time,
``122`` and ``word; citation phones; observed phones; part of speech``. The
session starts with ``{B_TRANS}`` and ends with ``{E_TRANS}``; pauses are
``<SIL>``, an occasional interviewer turn is ``<IVER>`` (spoken by another
voice), and some sentences start with ``uh`` or ``um``, as in the real corpus.

Alignment: every sentence is synthesised in one go and eSpeak reports when
each word starts; a word ends where the next one starts, the last one where
the speech energy ends. Phones are eSpeak's own phoneme symbols (not
Buckeye's ARPAbet-like set), citation and observed being the same.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .audio import noise_floor, record, speech_end, write_audio
from .common import corpus_rng, draw_unique, progress_bar, stable_seed
from .text_english import english_sentence, part_of_speech
from .tts import SAMPLE_RATE, phonemize, synthesize
from .voices import ENGLISH_ACCENTS, Speaker, draw_speakers

NAME = "buckeye"
HELD_OUT_SPEAKERS = ("s36", "s37", "s38", "s39", "s40")
_HEADER = (
    "signal {session}\ntype 0\ncolor 121\n"
    "comment created by summarymixing.data.synthetic\n"
    "font -misc-*-bold-*-*-*-15-*-*-*-*-*-*-*\nseparator ;\nnfields 4\n#\n"
)


@dataclass(frozen=True)
class Scale:
    """Training speakers and sentences per session (one session per speaker)."""

    train_speakers: int
    sentences: int


SCALES = {"tiny": Scale(3, 4), "small": Scale(12, 20)}


def build(root: Path, size: str, seed: int, progress: bool) -> None:
    """Write synthetic Buckeye sessions under ``root``.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> build(root, "tiny", seed=0, progress=False)
    >>> sorted(p.name for p in root.iterdir())
    ['s01', 's02', 's03', 's36', 's37', 's38', 's39', 's40']
    >>> (root / "s36/s3601a.words").read_text().splitlines()[7:9]
    ['#', '    0.000000  122 {B_TRANS}; null; null; null']
    """
    scale = SCALES[size]
    rng = corpus_rng(NAME, seed, "plan")
    names = [f"s{k:02d}" for k in range(1, scale.train_speakers + 1)]
    names += list(HELD_OUT_SPEAKERS)
    taken: set[tuple[str, str]] = set()
    speakers = draw_speakers(len(names), rng, ENGLISH_ACCENTS, taken)
    interviewer = draw_speakers(1, rng, ENGLISH_ACCENTS, taken)[0]
    bar = progress_bar(len(names) * scale.sentences, NAME, progress)
    sentences_taken: set[str] = set()
    for name, speaker in zip(names, speakers, strict=True):
        session = f"{name}01a"
        sentences = draw_unique(english_sentence, scale.sentences, rng, sentences_taken)
        _write_session(root / name, session, speaker, interviewer, sentences, seed, bar)
    bar.close()


def _write_session(
    folder: Path,
    session: str,
    speaker: Speaker,
    interviewer: Speaker,
    sentences: list[str],
    seed: int,
    bar: tqdm,
) -> None:
    rng = corpus_rng(NAME, stable_seed(seed, session), "session")
    noise = speaker.channel.noise_dbfs
    lines = [_line(0.0, "{B_TRANS}")]
    pieces = [noise_floor(rng.uniform(0.4, 1.0), noise, rng.randrange(2**31))]
    clock = len(pieces[0]) / SAMPLE_RATE
    spoken = []
    for index, sentence in enumerate(sentences):
        if index > 0 and rng.random() < 0.25:
            question = english_sentence(rng) + " and why"
            samples = _say(
                question, interviewer, stable_seed(session, "iver", index), rng
            )
            pieces.append(samples)
            clock += len(samples) / SAMPLE_RATE
            lines.append(_line(clock, "<IVER>"))
        if rng.random() < 0.15:
            sentence = rng.choice(("uh", "um")) + " " + sentence
        pause = noise_floor(rng.uniform(0.3, 1.0), noise, rng.randrange(2**31))
        pieces.append(pause)
        clock += len(pause) / SAMPLE_RATE
        lines.append(_line(clock, "<SIL>"))
        utterance_seed = stable_seed(NAME, seed, session, index)
        speech = synthesize(sentence, speaker.utterance_voice(rng), utterance_seed)
        samples = record(speech.samples, speaker.channel, utterance_seed)
        lines += _word_lines(
            sentence, speech.word_onsets, clock, speech_end(speech.samples)
        )
        pieces.append(samples)
        clock += len(samples) / SAMPLE_RATE
        spoken.append(sentence)
        bar.update()
    pieces.append(noise_floor(0.5, noise, rng.randrange(2**31)))
    clock += 0.5
    lines += [_line(clock - 0.5, "<SIL>"), _line(clock, "{E_TRANS}")]
    write_audio(folder / f"{session}.wav", np.concatenate(pieces), "wav")
    (folder / f"{session}.words").write_text(
        _HEADER.format(session=session) + "\n".join(lines) + "\n"
    )
    (folder / f"{session}.txt").write_text("\n".join(spoken) + "\n")


def _say(text: str, speaker: Speaker, seed: int, rng: random.Random) -> np.ndarray:
    speech = synthesize(text, speaker.utterance_voice(rng), seed)
    return record(speech.samples, speaker.channel, seed)


def _word_lines(
    sentence: str, onsets: tuple[tuple[int, float], ...], offset: float, end: float
) -> list[str]:
    """One line per word, ending where the next word starts."""
    words = sentence.split()
    ends = [offset + t for t in word_boundaries(sentence, onsets, end)[1:]]
    return [
        _line(stop, word, phonemize(word), part_of_speech(word))
        for word, stop in zip(words, ends, strict=True)
    ]


def word_boundaries(
    sentence: str, onsets: tuple[tuple[int, float], ...], end: float
) -> list[float]:
    """Start of every word, then the end of the last one (seconds).

    eSpeak reports one onset per word it speaks, but speaks some pairs of
    function words as one (``there was``, ``of the``): a word without an
    onset of its own gets a share of its group's time proportional to its
    number of letters.

    Example
    -------
    >>> word_boundaries("of the king", ((0, 0.0), (7, 0.3)), 0.9)
    [0.0, 0.128571, 0.3, 0.9]
    """
    words = sentence.split()
    starts, position = [], 0
    for word in words:
        position = sentence.index(word, position)
        starts.append(position)
        position += len(word)
    known = dict(onsets)
    anchors = [i for i, start in enumerate(starts) if start in known] + [len(words)]
    times = [known[starts[anchors[0]]] if anchors[0] < len(words) else 0.0]
    times = [times[0]] * (anchors[0] + 1)
    for first, last in zip(anchors[:-1], anchors[1:], strict=True):
        begin = known[starts[first]]
        stop = known[starts[last]] if last < len(words) else max(end, begin + 0.05)
        letters = [len(word) + 1 for word in words[first:last]]
        for count in itertools.accumulate(letters):
            times.append(begin + (stop - begin) * count / sum(letters))
    return [round(t, 6) for t in times]


def _line(end: float, word: str, phones: str = "null", tag: str = "null") -> str:
    return f"{end:12.6f}  122 {word}; {phones}; {phones}; {tag}"
