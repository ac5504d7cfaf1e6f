"""Synthetic SLURP: spoken commands with scenario, action and intent labels.

Layout (``root`` is the SLURP checkout, what the real recipes call
``data_folder``)::

    root/dataset/slurp/train.jsonl  devel.jsonl  test.jsonl
    root/slurp_real/audio-<13 digits>-headset.flac
    root/slurp_real/audio-<13 digits>.flac

One JSON object per line with the real fields ``slurp_id``, ``sentence``,
``sentence_annotation``, ``intent``, ``action``, ``scenario``, ``tokens``,
``entities`` and ``recordings`` (``file``, ``wer``, ``ent_wer``, ``status``).
Splits never share a sentence. In ``small`` each training command is recorded
twice, as in the real corpus: once close-talk (``-headset``) and once by
another speaker in a far-field channel (18-25 dB signal-to-noise ratio, duller
spectrum).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from pathlib import Path

from .audio import record, write_audio
from .common import corpus_rng, draw_unique, progress_bar, stable_seed
from .intents import SCENARIOS, Command, draw_command
from .text_english import part_of_speech
from .tts import synthesize
from .voices import ENGLISH_ACCENTS, Speaker, draw_speakers

NAME = "slurp"


@dataclass(frozen=True)
class Split:
    """Commands in one split and recordings per command."""

    name: str
    commands: int
    recordings: int


@dataclass(frozen=True)
class Scale:
    """Speaker pool size and splits."""

    speakers: int
    splits: tuple[Split, ...]


SCALES = {
    "tiny": Scale(
        6, (Split("train", 16, 1), Split("devel", 8, 1), Split("test", 8, 1))
    ),
    "small": Scale(
        24, (Split("train", 360, 2), Split("devel", 96, 1), Split("test", 96, 1))
    ),
}


def build(root: Path, size: str, seed: int, progress: bool) -> None:
    """Write synthetic SLURP (``train``, ``devel``, ``test``) under ``root``.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> build(root, "tiny", seed=0, progress=False)
    >>> line = (root / "dataset/slurp/devel.jsonl").read_text().splitlines()[0]
    >>> record = json.loads(line)
    >>> (root / "slurp_real" / record["recordings"][0]["file"]).exists()
    True
    >>> record["intent"] == record["scenario"] + "_" + record["action"]
    True
    """
    scale = SCALES[size]
    rng = corpus_rng(NAME, seed, "plan")
    speakers = draw_speakers(scale.speakers, rng, ENGLISH_ACCENTS, set())
    total = sum(split.commands * split.recordings for split in scale.splits)
    bar = progress_bar(total, NAME, progress)
    slurp_ids = iter(
        rng.sample(range(10000, 99999), sum(s.commands for s in scale.splits))
    )
    audio_ids = iter(rng.sample(range(1_400_000_000_000, 1_500_000_000_000), total))
    taken: set[str] = set()
    commands_by_sentence: dict[str, Command] = {}

    split_start = 0

    def make(r: random.Random) -> str:
        # Scenarios in turn over each split's accepted commands, so that every
        # scenario of a held-out split is also in training (classes balanced).
        scenario = SCENARIOS[(len(taken) - split_start) % len(SCENARIOS)]
        command = draw_command(r, scenario)
        commands_by_sentence.setdefault(command.sentence, command)
        return command.sentence

    (root / "dataset/slurp").mkdir(parents=True, exist_ok=True)
    for split in scale.splits:
        split_start = len(taken)
        lines = []
        for sentence in draw_unique(make, split.commands, rng, taken):
            command = commands_by_sentence[sentence]
            recordings = []
            for take in range(split.recordings):
                talker = rng.choice(speakers)
                name = f"audio-{next(audio_ids)}" + ("-headset" if take == 0 else "")
                _speak(
                    root / "slurp_real" / f"{name}.flac", command, talker, take, seed
                )
                recordings.append(
                    {
                        "file": f"{name}.flac",
                        "wer": 0.0,
                        "ent_wer": 0.0,
                        "status": "correct",
                    }
                )
                bar.update()
            lines.append(json.dumps(_record(next(slurp_ids), command, recordings)))
        (root / "dataset/slurp" / f"{split.name}.jsonl").write_text(
            "\n".join(lines) + "\n"
        )
    bar.close()


def _speak(
    path: Path, command: Command, speaker: Speaker, take: int, seed: int
) -> None:
    utterance_seed = stable_seed(NAME, seed, path.name)
    rng = corpus_rng(NAME, utterance_seed, "prosody")
    speech = synthesize(command.sentence, speaker.utterance_voice(rng), utterance_seed)
    channel = speaker.channel
    if take > 0:
        noise = channel.level_dbfs - rng.uniform(18.0, 25.0)
        channel = replace(channel, noise_dbfs=noise, tilt=-0.5)
    samples = record(
        speech.samples, channel, utterance_seed, rng.uniform(0.2, 0.6), 0.3
    )
    write_audio(path, samples, "flac")


def _record(slurp_id: int, command: Command, recordings: list[dict]) -> dict:
    words = command.sentence.split()
    return {
        "slurp_id": slurp_id,
        "sentence": command.sentence,
        "sentence_annotation": command.annotation,
        "intent": command.intent,
        "action": command.action,
        "tokens": [
            {"surface": w, "id": i, "lemma": w, "pos": part_of_speech(w)}
            for i, w in enumerate(words)
        ],
        "scenario": command.scenario,
        "recordings": recordings,
        "entities": [
            {"span": list(span), "type": slot} for slot, span in command.entities
        ],
    }
