"""ctypes binding to eSpeak NG (from ``espeakng-loader``), made deterministic.

The ``espeakng-loader`` wheel ships ``libespeak-ng`` and its voice data. We
drive the library in synchronous mode: ``espeak_Synth`` returns only once the
whole utterance has been handed to our callback as 22.05 kHz int16 chunks,
together with one event per spoken word (its character offset and its time).

Why not just call the library? Byte-identical corpora need every utterance to
depend on its own inputs only, and eSpeak keeps state from one utterance to the
next: a random generator (breath noise, Klatt noise), a pitch "flutter" index
and a roughness cycle counter that are never reset, and an automatic gain that
recovers only while voiced sound is produced. ``ESpeakNG`` therefore

1. runs eSpeak on a private copy of its data folder (symlinks, plus every voice
   variant rewritten with ``flutter 0`` and ``roughness 8``, which make the two
   counters irrelevant),
2. reseeds its random generator before each utterance, and
3. speaks a short, quiet vowel before each utterance so that the gain and the
   noise filters start from the same state every time.

eSpeak is not thread-safe and is initialised once per process: use it through
``summarymixing.data.synthetic.tts``, which holds the one instance and a lock.
"""

from __future__ import annotations

import atexit
import ctypes
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ESPEAK_SAMPLE_RATE = 22050
LANGUAGES = (
    "en-us",
    "en",
    "en-us-nyc",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-029",
    "cy",
    "eu",
)

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE, _PARAM_WORDGAP = 1, 2, 3, 4, 7
_DETERMINISTIC_VARIANT_SUFFIX = b"\nflutter 0\nroughness 8\n"
_SETTLE_TEXT = b"aaah\0"
_INSTALL_HINT = 'pip install "summarymixing[synth]" (or pip install espeakng-loader)'


@dataclass(frozen=True)
class Voice:
    """How eSpeak NG speaks: language, voice variant and prosody.

    Arguments
    ---------
    language : str
        eSpeak language voice, one of ``LANGUAGES`` (English accents, ``cy``
        Welsh, ``eu`` Basque).
    variant : str
        Voice variant (a file of ``espeak-ng-data/voices/!v``), e.g. ``m3`` or
        ``f2``; it sets the timbre and the base pitch.
    pitch : int
        Base pitch, 0 to 99 (50 is the variant's own).
    pitch_range : int
        Intonation range, 0 (monotone) to 99 (50 is normal).
    rate : int
        Speaking rate in words per minute, 80 to 450.
    volume : int
        Amplitude, 1 to 200 (100 is normal).

    Example
    -------
    >>> Voice("cy", "f2", pitch=60).name
    'cy+f2'
    >>> Voice("fr")
    Traceback (most recent call last):
    ...
    ValueError: unknown eSpeak language 'fr'; valid languages: en-us, en, en-us-nyc, en-gb-scotland, en-gb-x-rp, en-gb-x-gbclan, en-029, cy, eu
    """  # noqa: E501

    language: str = "en-us"
    variant: str = "m3"
    pitch: int = 50
    pitch_range: int = 50
    rate: int = 175
    volume: int = 100

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(
                f"unknown eSpeak language {self.language!r}; "
                f"valid languages: {', '.join(LANGUAGES)}"
            )
        for field, low, high in (
            ("pitch", 0, 99),
            ("pitch_range", 0, 99),
            ("rate", 80, 450),
            ("volume", 1, 200),
        ):
            value = getattr(self, field)
            if not low <= value <= high:
                raise ValueError(f"Voice.{field}={value} is outside [{low}, {high}]")

    @property
    def name(self) -> str:
        """The name given to ``espeak_SetVoiceByName``."""
        return f"{self.language}+{self.variant}"


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


def import_espeakng_loader():
    """Import the ``espeakng_loader`` package or say how to install it.

    Example
    -------
    >>> Path(import_espeakng_loader().get_library_path()).name.startswith("libespeak")
    True
    """
    try:
        import espeakng_loader
    except ImportError as error:
        raise ImportError(
            "speech synthesis needs the eSpeak NG library from the "
            f"'espeakng-loader' package: {_INSTALL_HINT}"
        ) from error
    return espeakng_loader


def _private_data_folder(source: Path) -> Path:
    """Copy of eSpeak's data folder whose voice variants are deterministic."""
    root = Path(tempfile.mkdtemp(prefix="summarymixing-espeak-"))
    atexit.register(shutil.rmtree, root, True)
    for entry in source.iterdir():
        if entry.name != "voices":
            (root / entry.name).symlink_to(entry)
    variants = root / "voices" / "!v"
    variants.mkdir(parents=True)
    for entry in (source / "voices").iterdir():
        if entry.name != "!v":
            (root / "voices" / entry.name).symlink_to(entry)
    for variant in (source / "voices" / "!v").iterdir():
        if variant.is_file():
            data = variant.read_bytes() + _DETERMINISTIC_VARIANT_SUFFIX
            (variants / variant.name).write_bytes(data)
    return root


class ESpeakNG:
    """The eSpeak NG library, initialised for deterministic synchronous synthesis.

    Create one per process (``tts`` does); calls are not thread-safe.
    """

    def __init__(self) -> None:
        loader = import_espeakng_loader()
        self.lib = ctypes.CDLL(loader.get_library_path())
        self._declare_signatures()
        self.data = _private_data_folder(Path(loader.get_data_path()))
        self.variants = tuple(
            sorted(p.name for p in (self.data / "voices/!v").iterdir())
        )
        rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, str(self.data).encode(), _INITIALIZE_DONT_EXIT
        )
        if rate != ESPEAK_SAMPLE_RATE:
            raise RuntimeError(f"espeak_Initialize failed (returned {rate})")
        self._chunks: list[np.ndarray] = []
        self._words: list[tuple[int, int]] = []
        self._callback = _SynthCallback(self._collect)
        self.lib.espeak_SetSynthCallback(self._callback)

    def _declare_signatures(self) -> None:
        lib = self.lib
        lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        lib.espeak_TextToPhonemes.argtypes = [
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
        ]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p

    def _collect(self, wav, num_samples: int, events) -> int:
        if wav and num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        index = 0
        while events[index].type != _EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == _EVENT_WORD:
                self._words.append((event.text_position - 1, event.audio_position))
            index += 1
        return 0

    def _set_voice(self, voice: Voice) -> None:
        if voice.variant not in self.variants:
            raise ValueError(
                f"unknown eSpeak voice variant {voice.variant!r}; "
                f"valid variants: {', '.join(self.variants)}"
            )
        if self.lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
            raise ValueError(f"eSpeak NG has no voice {voice.name!r}")
        for parameter, value in (
            (_PARAM_RATE, voice.rate),
            (_PARAM_VOLUME, voice.volume),
            (_PARAM_PITCH, voice.pitch),
            (_PARAM_RANGE, voice.pitch_range),
            (_PARAM_WORDGAP, 0),
        ):
            self.lib.espeak_SetParameter(parameter, value, 0)

    def _synth(self, text: bytes) -> None:
        self._chunks.clear()
        self._words.clear()
        status = self.lib.espeak_Synth(
            text, len(text), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed with status {status}")

    def speak(self, text: str, voice: Voice, seed: int) -> tuple[np.ndarray, list]:
        """Return 22.05 kHz int16 samples and (character offset, seconds) per word."""
        self._set_voice(Voice("en-us", "f3", rate=80, volume=10))
        self.lib.espeak_ng_SetRandSeed(0)
        self._synth(_SETTLE_TEXT)
        self._set_voice(voice)
        self.lib.espeak_ng_SetRandSeed(seed & 0x7FFFFFFF)
        self._synth(text.encode() + b"\0")
        raw = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return raw, [(position, ms / 1000) for position, ms in self._words]

    def phonemes(self, text: str, language: str) -> str:
        """Return eSpeak's phoneme mnemonics for ``text`` in ``language``."""
        self._set_voice(Voice(language))
        pointer = ctypes.c_char_p(text.encode())
        parts = []
        while pointer.value:
            parts.append(self.lib.espeak_TextToPhonemes(ctypes.byref(pointer), 1, 0))
        return " ".join(part.decode().strip() for part in parts if part)
