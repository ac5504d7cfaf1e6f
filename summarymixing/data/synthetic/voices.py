"""Synthetic speakers: an eSpeak voice, a sex and recording conditions.

A speaker is one (language or accent, voice variant) pair never given to any
other speaker of the same corpus, plus a fixed base pitch, intonation range and
speaking rate, so that speakers differ in timbre, accent, pitch and tempo.
Variants are used up before any is given again (with another accent); a
variant's second and third speakers get a clearly lower, then higher pitch.
Each utterance jitters pitch and rate a little around the speaker's values,
as a person never says two sentences the same way.

Variants that sound robotic, whispered or otherwise not speech-like
(``robosoft*``, ``whisper``, ``Demonic``, ...) are left out.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, replace

from .audio import Channel
from .tts import Voice

ENGLISH_ACCENTS = (
    "en-us",
    "en",
    "en-us-nyc",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-029",
)
MALE_VARIANTS = (
    "m1 m2 m3 m4 m5 m6 m7 m8 Alex Andy Gene Gene2 Jacky Lee Mario Michael Mike "
    "Denis Diogo Henrique Hugo adam benjamin boris david edward edward2 ed gustave "
    "iven2 iven3 iven4 john kaukovalta klatt klatt2 klatt3 klatt4 klatt5 marcelo "
    "max michel miguel mike2 norbert pablo paul pedro quincy rob robert sandro "
    "travis victor antonio grandpa Storm Nguyen"
).split()
FEMALE_VARIANTS = (
    "f1 f2 f3 f4 f5 Alicia Andrea Annie anika aunty belinda linda steph steph2 "
    "steph3 shelby grandma zac"
).split()


@dataclass(frozen=True)
class Speaker:
    """One synthetic talker.

    Arguments
    ---------
    voice : Voice
        The speaker's eSpeak voice and base prosody.
    sex : str
        ``"M"`` or ``"F"`` (from the variant).
    channel : Channel
        The speaker's usual recording conditions.
    """

    voice: Voice
    sex: str
    channel: Channel

    @property
    def voice_key(self) -> tuple[str, str]:
        """The (language, variant) pair that no other speaker of a corpus has.

        This is what ``draw_speakers`` records in ``taken``: a pair in ``taken``
        is never drawn again, whatever pitch band it would get.

        Example
        -------
        >>> Speaker(Voice("en-029", "f2"), "F", Channel()).voice_key
        ('en-029', 'f2')
        """
        return (self.voice.language, self.voice.variant)

    def utterance_voice(self, rng: random.Random) -> Voice:
        """Return the speaker's voice with the small variation of one utterance.

        Example
        -------
        >>> speaker = Speaker(Voice(pitch=50, rate=170), "M", Channel())
        >>> voice = speaker.utterance_voice(random.Random(0))
        >>> abs(voice.pitch - 50) <= 3, abs(voice.rate - 170) <= 8
        (True, True)
        """
        return replace(
            self.voice,
            pitch=_clip(self.voice.pitch + rng.randint(-3, 3), 0, 99),
            rate=_clip(self.voice.rate + rng.randint(-8, 8), 80, 450),
        )


def draw_speakers(
    count: int,
    rng: random.Random,
    languages: tuple[str, ...],
    taken: set[tuple[str, str]],
    hard: bool = False,
) -> list[Speaker]:
    """Draw ``count`` speakers, alternating sexes, with voices not in ``taken``.

    Arguments
    ---------
    count : int
        Number of speakers.
    rng : random.Random
        Source of randomness.
    languages : tuple of str
        eSpeak languages (or English accents) to draw from.
    taken : set of (language, variant)
        Voices already given to other speakers; updated.
    hard : bool
        Harder conditions (LibriSpeech "other"): extreme rates and pitches and
        a signal-to-noise ratio of 15-22 dB instead of 35-45 dB.

    Returns
    -------
    list of Speaker

    Example
    -------
    >>> taken = set()
    >>> speakers = draw_speakers(6, random.Random(0), ENGLISH_ACCENTS, taken)
    >>> len({(s.voice.language, s.voice.variant) for s in speakers}), len(taken)
    (6, 6)
    >>> [s.sex for s in speakers]
    ['F', 'M', 'F', 'M', 'F', 'M']
    """
    speakers = []
    for index in range(count):
        sex = "F" if index % 2 == 0 else "M"
        variants = FEMALE_VARIANTS if sex == "F" else MALE_VARIANTS
        free = [(lang, var) for lang in languages for var in variants]
        free = [pair for pair in free if pair not in taken]
        if not free:
            raise ValueError(
                f"only {index} distinct {sex} voices are available for "
                f"{', '.join(languages)}; ask for fewer speakers"
            )
        given = Counter(used for _, used in taken)
        uses = {var: given[var] for _, var in free}
        fewest = min(uses.values())
        language, variant = rng.choice([p for p in free if uses[p[1]] == fewest])
        taken.add((language, variant))
        voice = _base_voice(language, variant, fewest, rng, hard)
        speakers.append(Speaker(voice, sex, _channel(rng, hard)))
    return speakers


def speaker_capacity(languages: tuple[str, ...], taken: set[tuple[str, str]]) -> int:
    """Return how many speakers ``draw_speakers`` can still draw (sexes alternate).

    Arguments
    ---------
    languages : tuple of str
        eSpeak languages (or English accents) to draw from.
    taken : set of (language, variant)
        Voices that may not be drawn.

    Returns
    -------
    int
        The largest ``count`` for which ``draw_speakers`` does not run out.

    Example
    -------
    >>> speaker_capacity(ENGLISH_ACCENTS, set()) == 2 * 7 * len(FEMALE_VARIANTS)
    True
    >>> speaker_capacity(("en",), {("en", variant) for variant in FEMALE_VARIANTS})
    0
    """
    free = {
        sex: sum(
            (language, variant) not in taken
            for language in languages
            for variant in variants
        )
        for sex, variants in (("F", FEMALE_VARIANTS), ("M", MALE_VARIANTS))
    }
    return min(2 * free["F"], 2 * free["M"] + 1)


def _base_voice(
    language: str, variant: str, reuse: int, rng: random.Random, hard: bool
) -> Voice:
    """Draw base prosody; a variant given again gets another pitch band."""
    pitch_bands = ((35, 65), (15, 28), (72, 85))
    low, high = pitch_bands[reuse] if reuse < len(pitch_bands) else (0, 99)
    rate, pitch = rng.randint(150, 195), rng.randint(low, high)
    if hard:
        rate = rng.choice([rng.randint(125, 140), rng.randint(215, 250)])
        pitch = rng.choice([rng.randint(10, 25), rng.randint(75, 90)])
    return Voice(language, variant, pitch, rng.randint(35, 65), rate)


def _channel(rng: random.Random, hard: bool) -> Channel:
    """Speech at -30 to -21 dBFS; noise 35-45 dB below it (15-22 dB if hard)."""
    level = rng.uniform(-30.0, -21.0)
    snr = rng.uniform(15.0, 22.0) if hard else rng.uniform(35.0, 45.0)
    return Channel(level_dbfs=level, noise_dbfs=level - snr)


def _clip(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))
