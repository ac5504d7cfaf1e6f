"""Synthetic CommonVoice (Welsh ``cy``, Basque ``eu``) in the real layout.

Layout (``root`` is the language folder, what the real recipes call
``data_folder``)::

    root/clips/common_voice_<lang>_<NNNNNNNN>.mp3
    root/train.tsv  root/dev.tsv  root/test.tsv  root/validated.tsv

The ``.tsv`` files are tab-separated with CommonVoice 11's header (``client_id
path sentence up_votes down_votes age gender accents locale segment``).
Sentences keep CommonVoice's capitals and punctuation. As in the official
splits, train, dev and test share neither speakers nor sentences. Clips are
MP3 like the real ones (``soundfile`` with libsndfile >= 1.1 writes and reads
MP3), at 16 kHz instead of the real 48 kHz.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .audio import record, write_audio
from .common import corpus_rng, draw_unique, progress_bar, stable_seed
from .text_welsh_basque import basque_sentence, welsh_sentence
from .tts import synthesize
from .voices import draw_speakers

LANGUAGES = {"cy": welsh_sentence, "eu": basque_sentence}
HEADER = (
    "client_id",
    "path",
    "sentence",
    "up_votes",
    "down_votes",
    "age",
    "gender",
    "accents",
    "locale",
    "segment",
)
_AGES = ("teens", "twenties", "thirties", "fourties", "fifties", "sixties")


@dataclass(frozen=True)
class Split:
    """Speakers and clips per speaker of one split."""

    name: str
    speakers: int
    clips: int


SCALES = {
    "tiny": (Split("train", 4, 3), Split("dev", 2, 2), Split("test", 2, 2)),
    "small": (Split("train", 22, 16), Split("dev", 6, 10), Split("test", 6, 10)),
}


def build(root: Path, size: str, seed: int, progress: bool, language: str) -> None:
    r"""Write synthetic CommonVoice for ``language`` (``cy`` or ``eu``) in ``root``.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> build(root, "tiny", seed=0, progress=False, language="eu")
    >>> (root / "train.tsv").read_text().splitlines()[0].split("\t")[:3]
    ['client_id', 'path', 'sentence']
    >>> len(list((root / "clips").glob("*.mp3")))
    20
    """
    if language not in LANGUAGES:
        raise ValueError(
            f"unknown CommonVoice language {language!r}; "
            f"valid languages: {', '.join(LANGUAGES)}"
        )
    name = f"commonvoice-{language}"
    splits = SCALES[size]
    rng = corpus_rng(name, seed, "plan")
    clip_numbers = iter(
        rng.sample(range(10**7, 10**8), sum(s.speakers * s.clips for s in splits))
    )
    voices_taken: set[tuple[str, str]] = set()
    sentences_taken: set[str] = set()
    bar = progress_bar(sum(s.speakers * s.clips for s in splits), name, progress)
    validated = []
    for split in splits:
        rows = []
        for speaker in draw_speakers(split.speakers, rng, (language,), voices_taken):
            client_id = hashlib.sha512(
                f"{name}-{seed}-{speaker.voice}".encode()
            ).hexdigest()
            age, gender = rng.choice(_AGES), {"F": "female", "M": "male"}[speaker.sex]
            sentences = draw_unique(
                LANGUAGES[language], split.clips, rng, sentences_taken
            )
            for sentence in sentences:
                clip = f"common_voice_{language}_{next(clip_numbers)}.mp3"
                clip_seed = stable_seed(name, seed, clip)
                clip_rng = corpus_rng(name, clip_seed, "prosody")
                speech = synthesize(
                    sentence, speaker.utterance_voice(clip_rng), clip_seed
                )
                samples = record(
                    speech.samples,
                    speaker.channel,
                    clip_seed,
                    lead=clip_rng.uniform(0.3, 1.0),
                    tail=clip_rng.uniform(0.2, 0.8),
                )
                write_audio(root / "clips" / clip, samples, "mp3")
                votes = str(clip_rng.randint(2, 4))
                rows.append(
                    (
                        client_id,
                        clip,
                        sentence,
                        votes,
                        "0",
                        age,
                        gender,
                        "",
                        language,
                        "",
                    )
                )
                bar.update()
        _write_tsv(root / f"{split.name}.tsv", rows)
        validated += rows
    _write_tsv(root / "validated.tsv", validated)
    bar.close()


def _write_tsv(path: Path, rows: list[tuple[str, ...]]) -> None:
    lines = ["\t".join(HEADER)] + ["\t".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
