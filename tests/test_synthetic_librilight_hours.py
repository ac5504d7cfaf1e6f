"""Hours-sized synthetic Libri-Light: scale, disjointness from the probes, checks."""

import csv
import json
import math
import shutil
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest
import soundfile as sf

from summarymixing.data.manifest import read_manifest
from summarymixing.data.prepare_librilight import prepare_librilight
from summarymixing.data.synthetic import (
    CORPORA,
    build_corpus,
    librilight,
    librispeech,
    voxceleb,
)
from summarymixing.data.synthetic.__main__ import main
from summarymixing.data.synthetic.corpus import STAMP
from summarymixing.data.synthetic.held_out import probe_held_out
from summarymixing.data.synthetic.voices import ENGLISH_ACCENTS, speaker_capacity

HOURS = 0.1


def voice_key(name: str) -> tuple[str, str]:
    """``en-gb-x-rp+f3`` -> ``("en-gb-x-rp", "f3")``."""
    language, variant = name.split("+")
    return language, variant


@pytest.fixture(scope="module")
def spoken_build(tmp_path_factory):
    """An hours=0.1 build, with every sentence that was spoken in it."""
    patch = pytest.MonkeyPatch()
    spoken = []
    original = librilight.synthesize

    def recording(text, voice, seed):
        spoken.append(text)
        return original(text, voice, seed)

    patch.setattr(librilight, "synthesize", recording)
    try:
        out = tmp_path_factory.mktemp("librilight_hours")
        data = build_corpus("librilight", out, seed=0, progress=False, hours=HOURS)
    finally:
        patch.undo()
    return namedtuple("Build", "out data spoken")(out, data, spoken)


def test_librispeech_plan_is_what_build_writes(tiny_corpora):
    data = tiny_corpora / CORPORA["librispeech"]
    readers = librispeech.plan("tiny", seed=0)
    lines = (data / "SPEAKERS.TXT").read_text().splitlines()[1:]
    written = [[field.strip() for field in line.split("|")] for line in lines]
    assert [(int(i), sex, split, name) for i, sex, split, _, name in written] == [
        (r.speaker_id, r.speaker.sex, r.split, r.speaker.voice.name) for r in readers
    ]
    held_out_text = set()
    for reader in readers:
        for chapter in reader.chapters:
            folder = data / reader.split / str(reader.speaker_id)
            prefix = f"{reader.speaker_id}-{chapter.chapter_id}"
            transcript = folder / str(chapter.chapter_id) / f"{prefix}.trans.txt"
            lines = transcript.read_text().splitlines()
            texts = [line.split(" ", 1)[1] for line in lines]
            assert texts == [sentence.upper() for sentence in chapter.sentences]
            if reader.split in librispeech.HELD_OUT_SPLITS:
                held_out_text |= set(texts)
    assert {s.upper() for s in librispeech.held_out_sentences("tiny", 0)} == (
        held_out_text
    )
    held_out = {
        voice_key(name)
        for _, _, split, _, name in written
        if split in librispeech.HELD_OUT_SPLITS
    }
    assert librispeech.held_out_voices("tiny", 0) == held_out and len(held_out) == 8


def test_voxceleb_plan_is_what_build_writes(tiny_corpora):
    data = tiny_corpora / CORPORA["voxceleb1"]
    with (data / "vox1_meta.csv").open() as handle:
        meta = list(csv.DictReader(handle, delimiter="\t"))
    celebrities = voxceleb.plan("tiny", seed=0)
    assert [
        (row["VoxCeleb1 ID"], row["VGGFace1 ID"], row["Gender"], row["Set"])
        for row in meta
    ] == [
        (
            c.speaker_id,
            f"Synthetic_{c.speaker.voice.name}",
            c.speaker.sex.lower(),
            c.subset,
        )
        for c in celebrities
    ]
    trial_speakers = {
        path.split("/")[0]
        for line in (data / "veri_test2.txt").read_text().splitlines()
        for path in line.split()[1:]
    }
    assert voxceleb.held_out_voices("tiny", 0) == {
        voice_key(row["VGGFace1 ID"].removeprefix("Synthetic_"))
        for row in meta
        if row["VoxCeleb1 ID"] in trial_speakers
    }


def held_out_of_the_plans(seed):
    """Held-out voices and sentences read straight off the corpora's plans."""
    voices, sentences = set(), set()
    for size in ("tiny", "small"):
        for reader in librispeech.plan(size, seed):
            if reader.split in librispeech.HELD_OUT_SPLITS:
                voices.add(reader.speaker.voice_key)
                sentences.update(s for c in reader.chapters for s in c.sentences)
        for celebrity in voxceleb.plan(size, seed):
            if celebrity.subset == "test":
                voices.add(celebrity.speaker.voice_key)
    return voices, sentences


@pytest.mark.parametrize("hours", [0.3, 3.0, 14.0])
def test_hours_plan_uses_no_held_out_voice(hours):
    voices, sentences = held_out_of_the_plans(seed=0)
    assert (voices, sentences) == (
        set(probe_held_out(0).voices),
        set(probe_held_out(0).sentences),
    )
    readers = librilight.plan("tiny", seed=0, hours=hours)
    keys = [reader.speaker.voice_key for reader in readers]
    assert len(set(keys)) == len(keys) == math.ceil(hours * 15 - 1e-9)
    assert not set(keys) & voices
    seconds = [reader.seconds for reader in readers]
    assert sum(seconds) == pytest.approx(hours * 3600)
    assert all(35 <= r.seconds / len(r.book_ids) <= 90 for r in readers)
    assert len({reader.speaker_id for reader in readers}) == len(readers)


def test_the_voice_pool_holds_20_hours_and_refuses_more():
    readers = librilight.plan("tiny", seed=0, hours=20.0)
    capacity = speaker_capacity(ENGLISH_ACCENTS, set(probe_held_out(0).voices))
    assert len(readers) == capacity > 200
    assert len({reader.speaker.voice_key for reader in readers}) == capacity
    assert {reader.speaker.sex for reader in readers} == {"F", "M"}
    assert max(r.seconds for r in readers) <= librilight.MAX_MINUTES_PER_SPEAKER * 60
    with pytest.raises(ValueError, match=r"only \d+ distinct voices .* at most 28"):
        librilight.plan("tiny", seed=0, hours=40.0)


def test_hours_build_length_speakers_and_files(spoken_build):
    subset = spoken_build.data / "small"
    readers = librilight.plan("tiny", seed=0, hours=HOURS)
    speakers = sorted(p.name for p in subset.iterdir())
    assert speakers == sorted(str(r.speaker_id) for r in readers) and len(speakers) == 2
    durations = [sf.info(p).duration for p in sorted(subset.glob("*/*/*.flac"))]
    assert len(durations) == sum(len(r.book_ids) for r in readers) == 6
    assert all(35 < d < 75 for d in durations)  # longer than a VAD piece
    assert HOURS * 3600 <= sum(durations) <= 1.04 * HOURS * 3600
    for sidecar in subset.glob("*/*/*.json"):
        meta = json.loads(sidecar.read_text())
        assert meta["speaker"] == sidecar.parent.parent.name
    stamp = json.loads((spoken_build.data / STAMP).read_text())
    assert stamp == {
        "complete": True,
        "corpus": "librilight",
        "hours": HOURS,
        "seed": 0,
        "version": 1,
    }


def test_hours_build_speaks_no_held_out_sentence(spoken_build, tiny_corpora):
    transcripts = tiny_corpora / CORPORA["librispeech"]
    tiny_held_out = {
        line.split(" ", 1)[1].lower()
        for split in librispeech.HELD_OUT_SPLITS
        for path in (transcripts / split).glob("*/*/*.trans.txt")
        for line in path.read_text().splitlines()
    }
    assert len(spoken_build.spoken) > 100
    assert not set(spoken_build.spoken) & tiny_held_out
    assert not set(spoken_build.spoken) & set(probe_held_out(0).sentences)


def test_held_out_sentences_are_skipped_when_drawn(monkeypatch, tmp_path):
    held_out = sorted(probe_held_out(0).sentences)
    original = librilight.english_sentence
    drawn, spoken = [], []

    def often_held_out(rng):
        sentence = rng.choice(held_out) if rng.random() < 0.5 else original(rng)
        drawn.append(sentence)
        return sentence

    real_synthesize = librilight.synthesize

    def recording(text, voice, seed):
        spoken.append(text)
        return real_synthesize(text, voice, seed)

    monkeypatch.setattr(librilight, "english_sentence", often_held_out)
    monkeypatch.setattr(librilight, "synthesize", recording)
    librilight.build(tmp_path, "tiny", seed=0, progress=False, hours=0.02)
    assert set(drawn) & set(held_out)
    assert spoken and not set(spoken) & set(held_out)
    assert len(set(spoken)) == len(spoken)  # and never twice by one speaker


def test_hours_build_is_reused_refused_or_redone_by_its_stamp(spoken_build):
    out, data = spoken_build.out, spoken_build.data
    before = sorted(data.rglob("*.flac"))
    assert build_corpus("librilight", out, progress=False, hours=HOURS) == data
    assert sorted(data.rglob("*.flac")) == before
    assert build_corpus("librilight", out, "small", progress=False, hours=HOURS) == data
    for other in ({"hours": 0.2}, {"seed": 1, "hours": HOURS}, {}):
        with pytest.raises(ValueError, match="already holds a different synthetic"):
            build_corpus("librilight", out, progress=False, **other)


def test_an_interrupted_hours_build_is_redone_with_the_new_hours(tmp_path):
    root = tmp_path / "librilight"
    root.mkdir()
    stamp = {"complete": False, "corpus": "librilight", "hours": 5.0, "seed": 0}
    (root / STAMP).write_text(json.dumps({**stamp, "version": 1}))
    (root / "leftover.flac").write_bytes(b"")
    build_corpus("librilight", tmp_path, progress=False, hours=0.02)
    assert not (root / "leftover.flac").exists()
    assert json.loads((root / STAMP).read_text())["hours"] == 0.02
    assert len(list(root.glob("small/*/*/*.flac"))) == 1


def test_hours_only_for_librilight_and_only_positive(tmp_path):
    with pytest.raises(ValueError, match="'slurp' takes no hours: only librilight"):
        build_corpus("slurp", tmp_path, hours=1.0)
    for bad in (0, -1.0, math.nan, math.inf, True, "3"):
        with pytest.raises(ValueError, match="hours must be a positive number"):
            build_corpus("librilight", tmp_path, hours=bad)
    assert not list(tmp_path.iterdir())


def test_not_enough_disk_space_is_refused_before_writing(monkeypatch, tmp_path):
    Usage = namedtuple("Usage", "total used free")
    free = librilight.bytes_needed(3.0) - 1
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**12, 0, free))
    out = tmp_path / "corpora"
    with pytest.raises(ValueError) as error:
        build_corpus("librilight", out, progress=False, hours=3.0)
    message = str(error.value)
    for part in (str(out), "3 hours", f"{free / 1e9:.2f} GB free", "fewer hours"):
        assert part in message, part
    assert "--out" in message
    assert f"{librilight.bytes_needed(3.0) / 1e9:.2f} GB needed" in message
    assert not out.exists()
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**12, 0, free + 1))
    librilight.check_free_space(out, 3.0)


def test_a_complete_hours_build_is_reused_on_a_full_disk(spoken_build, monkeypatch):
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**12, 10**12, 0))
    out, data = spoken_build.out, spoken_build.data
    assert build_corpus("librilight", out, progress=False, hours=HOURS) == data


def test_hours_build_is_cut_by_the_real_vad(spoken_build, tmp_path):
    manifest = prepare_librilight(spoken_build.data / "small", tmp_path)
    pieces = read_manifest(manifest)
    assert len(pieces) >= 12
    assert all(1.0 < float(piece["duration"]) <= 30.0 for piece in pieces)


def test_command_line_hours(monkeypatch, tmp_path, capsys):
    for bad in ("0", "-2", "abc", "nan"):
        with pytest.raises(SystemExit) as exit_:
            main(["--corpus", "librilight", "--hours", bad, "--out", str(tmp_path)])
        assert exit_.value.code == 2
        assert "must be a positive number of hours" in capsys.readouterr().err
    for corpus in ("slurp", "all"):
        with pytest.raises(SystemExit) as exit_:
            main(["--corpus", corpus, "--hours", "3", "--out", str(tmp_path)])
        assert exit_.value.code == 2
        expected = f"--hours applies only to --corpus librilight, not --corpus {corpus}"
        assert expected in capsys.readouterr().err
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**12, 0, 10**6))
    arguments = ["--corpus", "librilight", "--hours", "2", "--out", str(tmp_path)]
    assert main(arguments) == 2
    assert "not enough free disk space for 2 hours" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_command_line_hours_with_another_corpus_in_a_fresh_process(tmp_path):
    command = [sys.executable, "-m", "summarymixing.data.synthetic"]
    command += ["--corpus", "voxceleb1", "--hours", "3", "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--hours applies only to --corpus librilight" in result.stderr


def test_stamps_without_hours_still_match_builds_without_hours(tmp_path):
    data = build_corpus("librilight", tmp_path, "tiny", progress=False)
    stamp = json.loads((data / STAMP).read_text())
    assert "hours" not in stamp
    (data / "small" / "kept.txt").write_text("reused, not rebuilt")
    assert build_corpus("librilight", tmp_path, "tiny", progress=False) == data
    assert (data / "small" / "kept.txt").exists()
    assert Path(data / STAMP).read_text() == json.dumps(stamp, sort_keys=True) + "\n"
