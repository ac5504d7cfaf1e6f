"""Synthetic IEMOCAP: ten speakers in five sessions, emotions as prosody.

Layout (``root`` is ``IEMOCAP_full_release``)::

    root/Session<n>/sentences/wav/<dialog>/<dialog>_<F|M><NNN>.wav
    root/Session<n>/dialog/EmoEvaluation/<dialog>.txt
    root/Session<n>/dialog/transcriptions/<dialog>.txt

``EmoEvaluation`` files have the real shape: a ``%`` header, then per turn a
line ``[start - end]<TAB>utterance<TAB>emotion<TAB>[v, a, d]`` followed by
annotator lines (``C-E1:``, ``A-E1:``) and a blank line, which preparers must
skip. Each session has one female and one male speaker (``Ses01F_impro01_F000``
is the woman of session 1). Emotions are four clearly different speaking
styles applied to every speaker and to varied sentences, so that neither the
speaker nor the words give the emotion away:

========  =====  ======  =====  ======  =====
emotion   rate   pitch   range  level   tilt
========  =====  ======  =====  ======  =====
neu       x1.00  +0      40     +0 dB   0
hap/exc   x1.08  +22     95     +3 dB   +0.3
sad       x0.90  -18     5      -8 dB   -0.6
ang       x1.05  +6      65     +9 dB   +0.7
========  =====  ======  =====  ======  =====

Rates differ little, so that the duration of a turn (mostly its number of
words) says little about the emotion; the spectral tilt models vocal effort
(duller when sad, brighter when angry).
A few turns are labelled ``fru`` or ``xxx`` (no agreement), which the standard
four-class setup discards, and half of the happy turns are labelled ``exc``,
which it merges with ``hap``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from pathlib import Path

from tqdm import tqdm

from .audio import record, write_audio
from .common import corpus_rng, draw_unique, progress_bar, stable_seed
from .text_english import english_sentence, written_form
from .tts import SAMPLE_RATE, Voice, synthesize
from .voices import ENGLISH_ACCENTS, Speaker, draw_speakers

NAME = "iemocap"
CORE_EMOTIONS = ("neu", "hap", "sad", "ang")
_NEUTRAL_HEADROOM_DB = 4.0  # neutral turns sit below the speaker's usual level
EXTRA_EMOTIONS = ("fru", "xxx")


@dataclass(frozen=True)
class Style:
    """A speaking style: rate factor, pitch shift and range, level and tilt."""

    rate_factor: float
    pitch_shift: int
    pitch_range: int
    level_db: float
    tilt: float


STYLES = {
    "neu": Style(1.00, 0, 40, 0.0, 0.0),
    "hap": Style(1.08, 22, 95, 3.0, 0.3),
    "exc": Style(1.08, 22, 95, 3.0, 0.3),
    "sad": Style(0.90, -18, 5, -8.0, -0.6),
    "ang": Style(1.05, 6, 65, 9.0, 0.7),
    "fru": Style(1.02, 3, 55, 4.0, 0.3),
    "xxx": Style(1.00, 0, 50, 1.0, 0.0),
}
_VAD = {
    "neu": (2.5, 2.5, 2.5),
    "hap": (4.0, 3.5, 3.0),
    "exc": (4.0, 4.0, 3.5),
    "sad": (1.5, 2.0, 2.0),
    "ang": (1.5, 4.0, 4.0),
    "fru": (2.0, 3.5, 3.5),
    "xxx": (2.5, 3.0, 3.0),
}
_CATEGORY = {
    "neu": "Neutral",
    "hap": "Happiness",
    "exc": "Excited",
    "sad": "Sadness",
    "ang": "Anger",
    "fru": "Frustration",
    "xxx": "Other",
}


@dataclass(frozen=True)
class Scale:
    """Dialogs per session, emotion repeats and extra turns per speaker.

    ``{s}`` in a dialog name stands for ``Ses0<n>``; ``repeats`` is how many
    turns of each core emotion a speaker has per dialog, ``extras`` how many
    ``fru``/``xxx`` turns.
    """

    dialogs: tuple[str, ...]
    repeats: int
    extras: int


SCALES = {
    "tiny": Scale(("{s}F_impro01",), 1, 1),
    "small": Scale(
        ("{s}F_impro01", "{s}M_impro02", "{s}F_script01_1", "{s}M_script02_2"), 3, 1
    ),
}


def build(root: Path, size: str, seed: int, progress: bool) -> None:
    r"""Write synthetic IEMOCAP (five sessions) under ``root``.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> build(root, "tiny", seed=0, progress=False)
    >>> lines = (root / "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt").read_text()
    >>> first = [line for line in lines.splitlines() if line.startswith("[")][0]
    >>> len(first.split("\t")), first.split("\t")[1][:17]
    (4, 'Ses01F_impro01_F0')
    """
    scale = SCALES[size]
    rng = corpus_rng(NAME, seed, "plan")
    speakers = draw_speakers(10, rng, ENGLISH_ACCENTS, set())
    turns_per_dialog = 2 * (4 * scale.repeats + scale.extras)
    bar = progress_bar(5 * len(scale.dialogs) * turns_per_dialog, NAME, progress)
    taken: set[str] = set()
    for session in range(1, 6):
        pair = {"F": speakers[2 * session - 2], "M": speakers[2 * session - 1]}
        for template in scale.dialogs:
            dialog = template.format(s=f"Ses{session:02d}")
            sentences = draw_unique(english_sentence, turns_per_dialog, rng, taken)
            turns = _turns(scale, rng)
            _write_dialog(
                root / f"Session{session}", dialog, pair, turns, sentences, seed, bar
            )
    bar.close()


def _turns(scale: Scale, rng: random.Random) -> list[tuple[str, str]]:
    """(speaker sex, emotion) per turn, speakers alternating, emotions shuffled."""
    per_speaker = {}
    for offset, sex in enumerate("FM"):
        emotions = [e for e in CORE_EMOTIONS for _ in range(scale.repeats)]
        happy = [i for i, e in enumerate(emotions) if e == "hap"]
        for k, index in enumerate(happy):
            emotions[index] = "exc" if (k + offset) % 2 else "hap"
        rng.shuffle(emotions)
        emotions += [rng.choice(EXTRA_EMOTIONS) for _ in range(scale.extras)]
        per_speaker[sex] = emotions
    return [
        (sex, emotion)
        for pair in zip(per_speaker["F"], per_speaker["M"], strict=True)
        for sex, emotion in zip("FM", pair, strict=True)
    ]


def styled_voice(speaker: Speaker, emotion: str, rng: random.Random) -> Voice:
    """Return the speaker's voice in the style of ``emotion``, a little jittered.

    Example
    -------
    >>> from .audio import Channel
    >>> speaker = Speaker(Voice(pitch=50, rate=170), "F", Channel())
    >>> sad = styled_voice(speaker, "sad", random.Random(0))
    >>> happy = styled_voice(speaker, "hap", random.Random(0))
    >>> sad.rate < 170 < happy.rate, sad.pitch < 50 < happy.pitch
    (True, True)
    """
    style = STYLES[emotion]
    voice = speaker.voice
    return replace(
        voice,
        rate=round(
            min(450, max(80, voice.rate * style.rate_factor * rng.uniform(0.95, 1.05)))
        ),
        pitch=min(99, max(0, voice.pitch + style.pitch_shift + rng.randint(-4, 4))),
        pitch_range=min(99, max(0, style.pitch_range + rng.randint(-8, 8))),
    )


def _write_dialog(
    session: Path,
    dialog: str,
    pair: dict[str, Speaker],
    turns: list[tuple[str, str]],
    sentences: list[str],
    seed: int,
    bar: tqdm,
) -> None:
    """Synthesise one dialog's turns; write its EmoEvaluation and transcript."""
    rng = corpus_rng(NAME, stable_seed(seed, dialog), "timeline")
    evaluation = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
    transcript, counters, clock = [], {"F": 0, "M": 0}, rng.uniform(1.0, 3.0)
    for (sex, emotion), sentence in zip(turns, sentences, strict=True):
        utterance = f"{dialog}_{sex}{counters[sex]:03d}"
        counters[sex] += 1
        speaker = pair[sex]
        utterance_seed = stable_seed(NAME, seed, utterance)
        speech = synthesize(
            sentence, styled_voice(speaker, emotion, rng), utterance_seed
        )
        level = (
            speaker.channel.level_dbfs
            - _NEUTRAL_HEADROOM_DB
            + STYLES[emotion].level_db
            + rng.uniform(-1.5, 1.5)
        )
        channel = replace(speaker.channel, level_dbfs=level, tilt=STYLES[emotion].tilt)
        samples = record(speech.samples, channel, utterance_seed, 0.1, 0.1)
        write_audio(
            session / "sentences/wav" / dialog / f"{utterance}.wav", samples, "wav"
        )
        start, end = clock, clock + len(samples) / SAMPLE_RATE
        clock = end + rng.uniform(0.2, 1.5)
        valence, arousal, dominance = _VAD[emotion]
        evaluation.append(
            f"[{start:.4f} - {end:.4f}]\t{utterance}\t{emotion}\t"
            f"[{valence:.4f}, {arousal:.4f}, {dominance:.4f}]"
        )
        evaluation += _annotations(emotion, rng) + [""]
        line = f"{utterance} [{start:08.4f}-{end:08.4f}]: {written_form(sentence)}"
        transcript.append(line)
        bar.update()
    for kind, lines in (("EmoEvaluation", evaluation), ("transcriptions", transcript)):
        (session / "dialog" / kind).mkdir(parents=True, exist_ok=True)
        (session / "dialog" / kind / f"{dialog}.txt").write_text(
            "\n".join(lines) + "\n"
        )


def _annotations(emotion: str, rng: random.Random) -> list[str]:
    """Per-annotator lines as in the real files (categorical then dimensional)."""
    categories = [_CATEGORY[emotion]] * 3
    if emotion == "xxx":
        categories = rng.sample(["Neutral", "Frustration", "Sadness", "Anger"], 3)
    lines = [f"C-E{k}:\t{category};\t()" for k, category in enumerate(categories, 1)]
    valence, arousal, dominance = (round(v) for v in _VAD[emotion])
    lines += [
        f"A-E{k}:\tval {valence}; act {arousal}; dom  {dominance};\t()" for k in (1, 2)
    ]
    return lines
