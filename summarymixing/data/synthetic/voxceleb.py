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
    train_ids = [f"id{10001 + k}" for k in range(scale.train_speakers)]
    test_ids = [f"id{FIRST_TEST_ID + k}" for k in range(scale.test_speakers)]
    speakers = draw_speakers(
        len(train_ids) + len(test_ids), rng, ENGLISH_ACCENTS, set()
    )
    per_speaker = scale.videos * scale.utterances
    bar = progress_bar(len(speakers) * per_speaker, NAME, progress)
    sentences = draw_unique(
        english_sentence,
        len(speakers) * per_speaker,
        rng,
        set(),
        word_count_between(8, 16),
    )
    files: dict[str, list[str]] = {}
    meta = ["VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet"]
    for index, (speaker_id, speaker) in enumerate(
        zip(train_ids + test_ids, speakers, strict=True)
    ):
        mine = sentences[index * per_speaker : (index + 1) * per_speaker]
        files[speaker_id] = _write_speaker(
            root / "wav", speaker_id, speaker, mine, scale.videos, seed, rng, bar
        )
        subset = "test" if speaker_id in test_ids else "dev"
        meta.append(
            f"{speaker_id}\tSynthetic_{speaker.voice.name}\t{speaker.sex.lower()}\t"
            f"{_NATIONALITY[speaker.voice.language]}\t{subset}"
        )
    bar.close()
    (root / "vox1_meta.csv").write_text("\n".join(meta) + "\n")
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
