"""Synthetic VoxCeleb1: many speakers, several "videos" each, and trials.

Layout (``root`` is what the real recipes call ``data_folder``)::

    root/wav/<idXXXXX>/<video>/<NNNNN>.wav
    root/veri_test2.txt      lines: "<1|0> <enrol path> <test path>"
    root/vox1_meta.csv       tab-separated: ID, name, gender, nationality, set

As in the real corpus, the verification speakers (``id10270`` onwards) never
appear in training (``id10001`` onwards). A speaker is one eSpeak accent and
variant with a fixed pitch, range and rate; each video has its own recording
channel (level, a signal-to-noise ratio of 20-40 dB, spectral tilt), so that a
verifier has to recognise the voice across sessions and not the session. Trial paths are
relative to ``root/wav``, like ``veri_test2.txt``.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .audio import Channel, record, write_audio
from .common import (
    corpus_rng,
    draw_unique,
    progress_bar,
    stable_seed,
    word_count_between,
)
from .text_english import english_sentence
from .tts import synthesize
from .voices import ENGLISH_ACCENTS, Speaker, draw_speakers

NAME = "voxceleb1"
FIRST_TEST_ID = 10270
_NATIONALITY = {
    "en-us": "USA",
    "en-us-nyc": "USA",
    "en": "UK",
    "en-gb-scotland": "UK",
    "en-gb-x-rp": "UK",
    "en-gb-x-gbclan": "UK",
    "en-029": "Jamaica",
}


@dataclass(frozen=True)
class Scale:
    """Speakers, videos, utterances and trials of one size.

    ``trials`` is the number of target (and of non-target) trials per
    enrolment utterance.
    """

    train_speakers: int
    test_speakers: int
    videos: int
    utterances: int
    trials: int


SCALES = {"tiny": Scale(8, 4, 2, 2, 1), "small": Scale(40, 10, 3, 3, 3)}


@dataclass(frozen=True)
class Celebrity:
    """One VoxCeleb1 speaker: id, voice, set (``dev`` or ``test``) and sentences."""

    speaker_id: str
    speaker: Speaker
    subset: str
    sentences: tuple[str, ...]


def plan(size: str, seed: int) -> tuple[Celebrity, ...]:
    """Draw the speakers of synthetic VoxCeleb1 and their sentences, no audio.

    ``build`` draws its speakers with the same calls (``_draw_celebrities``),
    so this is exactly who speaks in the corpus.

    Arguments
    ---------
    size : str
        A key of ``SCALES`` (``"tiny"`` or ``"small"``).
    seed : int
        The corpus seed.

    Returns
    -------
    tuple of Celebrity
        Training speakers (``id10001`` onwards), then test speakers
        (``id10270`` onwards, the ones in the trials).

    Example
    -------
    >>> celebrities = plan("tiny", seed=0)
    >>> [c.subset for c in celebrities].count("test"), celebrities[-4].speaker_id
    (4, 'id10270')
    """
    return _draw_celebrities(SCALES[size], corpus_rng(NAME, seed, "plan"))


def held_out_voices(size: str, seed: int) -> frozenset[tuple[str, str]]:
    """Return the (language, variant) voices of the test speakers (in the trials).

    Example
    -------
    >>> len(held_out_voices("small", seed=0))
    10
    """
    return frozenset(
        celebrity.speaker.voice_key
        for celebrity in plan(size, seed)
        if celebrity.subset == "test"
    )


def _draw_celebrities(scale: Scale, rng: random.Random) -> tuple[Celebrity, ...]:
    """Speakers and sentences, drawn from ``rng`` (which ``build`` goes on using)."""
    train_ids = [f"id{10001 + k}" for k in range(scale.train_speakers)]
    test_ids = [f"id{FIRST_TEST_ID + k}" for k in range(scale.test_speakers)]
    speakers = draw_speakers(
        len(train_ids) + len(test_ids), rng, ENGLISH_ACCENTS, set()
    )
    per_speaker = scale.videos * scale.utterances
    sentences = draw_unique(
        english_sentence,
        len(speakers) * per_speaker,
        rng,
        set(),
        word_count_between(8, 16),
    )
    return tuple(
        Celebrity(
            speaker_id,
            speaker,
            "test" if speaker_id in test_ids else "dev",
            tuple(sentences[index * per_speaker : (index + 1) * per_speaker]),
        )
        for index, (speaker_id, speaker) in enumerate(
            zip(train_ids + test_ids, speakers, strict=True)
        )
    )


def build(root: Path, size: str, seed: int, progress: bool) -> None:
    r"""Write synthetic VoxCeleb1 (train and test speakers, trials) under ``root``.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> build(root, "tiny", seed=0, progress=False)
    >>> first_trial = (root / "veri_test2.txt").read_text().split("\n")[0]
    >>> label, enrol, test = first_trial.split()
    >>> label in {"0", "1"}, enrol.startswith("id1027"), (root / "wav" / test).exists()
    (True, True, True)
    """
    scale = SCALES[size]
    rng = corpus_rng(NAME, seed, "plan")
    celebrities = _draw_celebrities(scale, rng)
    bar = progress_bar(
        len(celebrities) * scale.videos * scale.utterances, NAME, progress
    )
    files: dict[str, list[str]] = {}
    meta = ["VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet"]
    for celebrity in celebrities:
        speaker = celebrity.speaker
        files[celebrity.speaker_id] = _write_speaker(
            root / "wav",
            celebrity.speaker_id,
            speaker,
            list(celebrity.sentences),
            scale.videos,
            seed,
            rng,
            bar,
        )
        meta.append(
            f"{celebrity.speaker_id}\tSynthetic_{speaker.voice.name}\t"
            f"{speaker.sex.lower()}\t{_NATIONALITY[speaker.voice.language]}\t"
            f"{celebrity.subset}"
        )
    bar.close()
    (root / "vox1_meta.csv").write_text("\n".join(meta) + "\n")
    test_ids = [c.speaker_id for c in celebrities if c.subset == "test"]
    trials = _trials({k: files[k] for k in test_ids}, scale.trials, rng)
    (root / "veri_test2.txt").write_text("\n".join(trials) + "\n")


def _write_speaker(
    wav: Path,
    speaker_id: str,
    speaker: Speaker,
    sentences: list[str],
    videos: int,
    seed: int,
    rng: random.Random,
    bar: tqdm,
) -> list[str]:
    """Synthesise all videos of one speaker; return paths relative to ``wav``."""
    written = []
    sentence_iter = iter(sentences)
    per_video = len(sentences) // videos
    for _ in range(videos):
        video = "".join(rng.choices(string.ascii_letters + string.digits + "_-", k=11))
        level = speaker.channel.level_dbfs + rng.uniform(-4.0, 4.0)
        channel = Channel(
            level, level - rng.uniform(20.0, 40.0), rng.uniform(-0.6, 0.3)
        )
        for number in range(1, per_video + 1):
            relative = f"{speaker_id}/{video}/{number:05d}.wav"
            utterance_seed = stable_seed(NAME, seed, relative)
            voice_rng = corpus_rng(NAME, utterance_seed, "prosody")
            speech = synthesize(
                next(sentence_iter), speaker.utterance_voice(voice_rng), utterance_seed
            )
            samples = record(speech.samples, channel, utterance_seed, 0.2, 0.2)
            write_audio(wav / relative, samples, "wav")
            written.append(relative)
            bar.update()
    return written


def _trials(
    files: dict[str, list[str]], per_enrol: int, rng: random.Random
) -> list[str]:
    """Target and non-target trials, ``per_enrol`` of each per test utterance.

    Targets prefer a test utterance from another video of the same speaker.
    """
    lines = []
    for speaker_id, enrolments in files.items():
        others = [
            path
            for other, paths in files.items()
            if other != speaker_id
            for path in paths
        ]
        for enrol in enrolments:
            video = enrol.split("/")[1]
            same = [p for p in enrolments if p != enrol]
            rng.shuffle(same)
            same.sort(key=lambda path: path.split("/")[1] == video)
            targets = same[:per_enrol]
            for test in targets:
                lines.append(f"1 {enrol} {test}")
            for test in rng.sample(others, min(per_enrol, len(others))):
                lines.append(f"0 {enrol} {test}")
    return lines
