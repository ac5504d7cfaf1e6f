"""What pre-training audio must not contain: the probes' held-out voices and text.

A model pre-trained on synthetic Libri-Light is probed on synthetic LibriSpeech
(ASR on dev and test) and VoxCeleb1 (verification on the trial speakers). As
Libri-Light leaves out the LibriSpeech dev and test speakers, the hours-sized
synthetic Libri-Light never uses a voice or a sentence of those held-out
splits. They are read off the corpora's plans (``librispeech.plan``,
``voxceleb.plan``), which draw exactly what the builders write, for both sizes,
so nothing is synthesised and whichever size is probed is covered.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import librispeech, voxceleb


@dataclass(frozen=True)
class HeldOut:
    """Voices and sentences that pre-training audio must not use.

    Arguments
    ---------
    voices : frozenset of (language, variant)
        eSpeak voices (``Speaker.voice_key``) of the held-out speakers.
    sentences : frozenset of str
        Held-out sentences, lower case as drawn (transcripts are upper case).
    """

    voices: frozenset[tuple[str, str]]
    sentences: frozenset[str]


def probe_held_out(seed: int) -> HeldOut:
    """Voices and sentences of the held-out probe splits of corpora with ``seed``.

    Voices: the LibriSpeech dev-clean, dev-other, test-clean and test-other
    speakers and the VoxCeleb1 test speakers; sentences: those of the LibriSpeech
    held-out splits. Each for every size (``tiny`` and ``small``).

    Arguments
    ---------
    seed : int
        The seed the probe corpora are (or will be) built with.

    Returns
    -------
    HeldOut

    Example
    -------
    >>> held_out = probe_held_out(seed=0)
    >>> len(held_out.voices), len(held_out.sentences)  # 8 + 16 + 4 + 10, 16 + 192
    (37, 208)
    >>> held_out.sentences >= librispeech.held_out_sentences("small", seed=0)
    True
    """
    voices = frozenset().union(
        *(librispeech.held_out_voices(size, seed) for size in librispeech.SCALES),
        *(voxceleb.held_out_voices(size, seed) for size in voxceleb.SCALES),
    )
    sentences = frozenset().union(
        *(librispeech.held_out_sentences(size, seed) for size in librispeech.SCALES)
    )
    return HeldOut(voices, sentences)
