"""Synthetic corpora: real layouts and formats, learnable content, determinism."""

import csv
import json
import multiprocessing
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from summarymixing.data.manifest import read_manifest
from summarymixing.data.prepare_librilight import prepare_librilight
from summarymixing.data.prepare_librispeech import prepare_librispeech
from summarymixing.data.synthetic import CORPORA, SIZES, build_corpus
from summarymixing.data.synthetic.__main__ import main
from summarymixing.data.synthetic.corpus import STAMP
from summarymixing.data.synthetic.intents import SCENARIOS

AUDIO_SUFFIXES = {".flac", ".wav", ".mp3"}


def root(out: Path, name: str) -> Path:
    return out / CORPORA[name]


def audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in AUDIO_SUFFIXES)


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_every_audio_file_is_16k_mono_speech_with_a_noise_floor(tiny_corpora):
    files = audio_files(tiny_corpora)
    assert Counter(p.suffix for p in files) == {".flac": 66, ".wav": 106, ".mp3": 40}
    for path in files:
        samples, rate = sf.read(path, dtype="int16", always_2d=True)
        assert rate == 16000 and samples.shape[1] == 1, path
        x = samples[:, 0].astype(float)
        frames = x[: len(x) // 400 * 400].reshape(-1, 400)
        frame_rms = np.sqrt((frames**2).mean(1))
        loud, quiet = np.percentile(frame_rms, 90), np.percentile(frame_rms, 3)
        assert 300 < loud < 20000, path  # speech at a normal level
        assert 0 < quiet < loud / 5, path  # pauses: a noise floor, not zeros


def test_librispeech_layout_transcripts_and_held_out_splits(tiny_corpora):
    data = root(tiny_corpora, "librispeech")
    splits = sorted(p.name for p in data.iterdir() if p.is_dir())
    assert splits == [
        "dev-clean",
        "dev-other",
        "test-clean",
        "test-other",
        "train-clean-100",
    ]
    speakers, sentences = {}, {}
    for split in splits:
        transcripts = sorted((data / split).glob("*/*/*.trans.txt"))
        assert transcripts
        for transcript in transcripts:
            speaker, chapter = transcript.parent.parent.name, transcript.parent.name
            assert transcript.name == f"{speaker}-{chapter}.trans.txt"
            for line in transcript.read_text().splitlines():
                utterance, text = line.split(" ", 1)
                assert re.fullmatch(rf"{speaker}-{chapter}-\d{{4}}", utterance)
                assert re.fullmatch(r"[A-Z' ]+", text) and text == text.strip()
                audio, _ = sf.read(transcript.parent / f"{utterance}.flac")
                seconds_per_word = len(audio) / 16000 / len(text.split())
                assert 0.15 < seconds_per_word < 1.0, utterance
                speakers.setdefault(split, set()).add(speaker)
                sentences.setdefault(split, set()).add(text)
    for first in splits:
        for second in splits:
            if first < second:
                assert not speakers[first] & speakers[second]
                assert not sentences[first] & sentences[second]
    assert "| train-clean-100  |" in (data / "SPEAKERS.TXT").read_text()


def test_librispeech_is_read_back_by_the_real_preparer(tiny_corpora, tmp_path):
    data = root(tiny_corpora, "librispeech")
    manifests = prepare_librispeech(data, tmp_path, ["train-clean-100", "test-other"])
    rows = read_manifest(manifests["train-clean-100"])
    assert len(rows) == 16
    transcripts = {
        line.split(" ", 1)[0]: line.split(" ", 1)[1]
        for path in data.glob("train-clean-100/*/*/*.trans.txt")
        for line in path.read_text().splitlines()
    }
    assert {row["ID"]: row["wrd"] for row in rows} == transcripts


def test_librilight_raw_layout_sidecars_and_real_vad_cutting(tiny_corpora, tmp_path):
    subset = root(tiny_corpora, "librilight") / "small"
    recordings = sorted(subset.glob("*/*/*.flac"))
    assert len(recordings) == 2
    for recording in recordings:
        meta = json.loads(recording.with_suffix(".json").read_text())
        assert meta["speaker"] == recording.parent.parent.name
        assert meta["book_meta"]["title"] and meta["snr"] > 10
        duration = sf.info(recording).duration
        assert 35 < duration < 60
        activity = np.array(meta["voice_activity"])
        assert (np.diff(activity.ravel()) > 0).all() and activity.max() < duration
    manifest = prepare_librilight(subset, tmp_path, num_workers=1)
    pieces = read_manifest(manifest)
    assert len(pieces) >= 4
    assert all(1.0 < float(piece["duration"]) <= 30.0 for piece in pieces)


@pytest.mark.parametrize("language", ["cy", "eu"])
def test_commonvoice_tsvs_clips_and_disjoint_splits(tiny_corpora, language):
    data = root(tiny_corpora, f"commonvoice-{language}")
    splits = {name: read_tsv(data / f"{name}.tsv") for name in ("train", "dev", "test")}
    header = (
        (data / "train.tsv").read_text(encoding="utf-8").splitlines()[0].split("\t")
    )
    assert header[:3] == ["client_id", "path", "sentence"] and "locale" in header
    assert len(read_tsv(data / "validated.tsv")) == sum(map(len, splits.values()))
    for rows in splits.values():
        for row in rows:
            assert re.fullmatch(rf"common_voice_{language}_\d+\.mp3", row["path"])
            assert (data / "clips" / row["path"]).exists()
            assert row["locale"] == language and len(row["client_id"]) == 128
            assert row["sentence"][0].isupper() and row["sentence"][-1] in ".?"
    for first, second in (("train", "dev"), ("train", "test"), ("dev", "test")):
        for field in ("client_id", "sentence"):
            assert not {r[field] for r in splits[first]} & {
                r[field] for r in splits[second]
            }


def test_voxceleb_layout_disjoint_test_speakers_and_trials(tiny_corpora):
    data = root(tiny_corpora, "voxceleb1")
    files = sorted(p.relative_to(data / "wav").as_posix() for p in data.rglob("*.wav"))
    assert all(re.fullmatch(r"id\d{5}/[\w-]{11}/\d{5}\.wav", f) for f in files)
    speakers = {f.split("/")[0] for f in files}
    test_ids = {s for s in speakers if 10270 <= int(s[2:]) <= 10309}
    assert len(test_ids) == 4 and len(speakers - test_ids) == 8
    trials = [
        line.split() for line in (data / "veri_test2.txt").read_text().splitlines()
    ]
    assert {label for label, _, _ in trials} == {"0", "1"}
    for label, enrol, test in trials:
        assert (data / "wav" / enrol).exists() and (data / "wav" / test).exists()
        assert {enrol.split("/")[0], test.split("/")[0]} <= test_ids
        assert (enrol.split("/")[0] == test.split("/")[0]) == (label == "1")
    meta = read_tsv(data / "vox1_meta.csv")
    assert {row["Set"] for row in meta if row["VoxCeleb1 ID"] in test_ids} == {"test"}


def test_voxceleb_speakers_sound_different(tiny_corpora):
    data = root(tiny_corpora, "voxceleb1") / "wav"
    spectra = []
    for speaker in sorted(data.iterdir()):
        samples = np.concatenate(
            [sf.read(p)[0] for p in sorted(speaker.rglob("*.wav"))]
        )
        frames = np.lib.stride_tricks.sliding_window_view(samples, 512)[::256]
        power = (np.abs(np.fft.rfft(frames * np.hanning(512), axis=1)) ** 2).mean(0)
        spectra.append(np.log10(power[:160] + 1e-9))
    spectra = np.array(spectra) - np.mean(spectra, axis=1, keepdims=True)
    distances = np.abs(spectra[:, None] - spectra[None]).mean(-1)
    assert distances[~np.eye(len(spectra), dtype=bool)].min() > 0.05


EMO_LINE = re.compile(
    r"\[(\d+\.\d{4}) - (\d+\.\d{4})\]\t(Ses0\d[FM]_\w+_[FM]\d{3})\t(\w{3})\t"
    r"\[\d\.\d{4}, \d\.\d{4}, \d\.\d{4}\]"
)


def test_iemocap_layout_and_emotion_evaluation_format(tiny_corpora):
    data = root(tiny_corpora, "iemocap")
    assert sorted(p.name for p in data.iterdir() if p.is_dir()) == [
        f"Session{n}" for n in range(1, 6)
    ]
    emotions = defaultdict(Counter)
    for evaluation in sorted(data.glob("Session*/dialog/EmoEvaluation/*.txt")):
        text = evaluation.read_text()
        assert text.startswith("% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]")
        turns = [line for line in text.splitlines() if line.startswith("[")]
        assert all(
            line.startswith("C-E") or line.startswith("A-E") or not line
            for line in text.splitlines()[2:]
            if not line.startswith("[")
        )
        for line in turns:
            start, end, utterance, emotion = EMO_LINE.fullmatch(line).groups()
            dialog = utterance.rsplit("_", 1)[0]
            wav = evaluation.parents[2] / "sentences/wav" / dialog / f"{utterance}.wav"
            assert abs(sf.info(wav).duration - (float(end) - float(start))) < 1e-3
            speaker = utterance[:5] + utterance.rsplit("_", 1)[1][0]
            emotions[speaker][emotion] += 1
    assert len(emotions) == 10
    for counts in emotions.values():
        assert counts["neu"] and counts["sad"] and counts["ang"]
        assert counts["hap"] + counts["exc"]
    assert sum(c["fru"] + c["xxx"] for c in emotions.values()) == 10


def test_iemocap_emotions_are_distinct_prosody_for_every_speaker(tiny_corpora):
    data = root(tiny_corpora, "iemocap")
    level = defaultdict(list)
    for evaluation in sorted(data.glob("Session*/dialog/EmoEvaluation/*.txt")):
        for line in evaluation.read_text().splitlines():
            if line.startswith("["):
                _, utterance, emotion, _ = line.split("\t")
                dialog = utterance.rsplit("_", 1)[0]
                path = (
                    evaluation.parents[2]
                    / "sentences/wav"
                    / dialog
                    / f"{utterance}.wav"
                )
                x = sf.read(path)[0]
                speaker = utterance[:5] + utterance.rsplit("_", 1)[1][0]
                level[speaker, emotion].append(10 * np.log10(np.mean(x**2)))
    for speaker in {s for s, _ in level}:
        assert np.mean(level[speaker, "sad"]) + 8 < np.mean(level[speaker, "ang"])


def test_slurp_jsonl_fields_scenarios_and_disjoint_splits(tiny_corpora):
    data = root(tiny_corpora, "slurp")
    sentences, scenarios = {}, set()
    for split in ("train", "devel", "test"):
        records = [
            json.loads(line)
            for line in (data / f"dataset/slurp/{split}.jsonl").read_text().splitlines()
        ]
        sentences[split] = {record["sentence"] for record in records}
        for record in records:
            assert record["intent"] == f"{record['scenario']}_{record['action']}"
            assert record["sentence"] == record["sentence"].lower()
            annotation = re.sub(
                r"\[\w+ : ([^\]]+)\]", r"\1", record["sentence_annotation"]
            )
            assert annotation == record["sentence"]
            assert len(record["entities"]) == record["sentence_annotation"].count("[")
            assert [t["surface"] for t in record["tokens"]] == record[
                "sentence"
            ].split()
            for recording in record["recordings"]:
                assert re.fullmatch(r"audio-\d{13}(-headset)?\.flac", recording["file"])
                assert (data / "slurp_real" / recording["file"]).exists()
            scenarios.add(record["scenario"])
    assert len(SCENARIOS) >= 6 and len(scenarios) >= 6
    assert not sentences["train"] & (sentences["devel"] | sentences["test"])


WORD_LINE = re.compile(r" *(\d+\.\d{6})  122 (\S+); (\S.*); (\S.*); (\S+)")


def test_buckeye_words_files_are_time_aligned(tiny_corpora):
    data = root(tiny_corpora, "buckeye")
    assert sorted(p.name for p in data.iterdir() if p.is_dir()) == [
        "s01", "s02", "s03", "s36", "s37", "s38", "s39", "s40"
    ]  # fmt: skip
    for words in sorted(data.glob("s*/*.words")):
        lines = words.read_text().splitlines()
        assert lines[0] == f"signal {words.stem}" and lines[7] == "#"
        parsed = [WORD_LINE.fullmatch(line).groups() for line in lines[8:]]
        times = [float(time) for time, *_ in parsed]
        labels = [label for _, label, *_ in parsed]
        assert labels[0] == "{B_TRANS}" and labels[-1] == "{E_TRANS}"
        assert times == sorted(times)
        assert abs(times[-1] - sf.info(words.with_suffix(".wav")).duration) < 0.01
        spoken = [w for w in labels if w[0] not in "<{"]
        assert spoken == words.with_suffix(".txt").read_text().split()
        durations = np.diff(times)[
            [i - 1 for i, w in enumerate(labels) if w[0] not in "<{"]
        ]
        assert (durations > 0.02).all() and (durations < 1.5).all()


def test_rebuilding_with_the_same_seed_gives_identical_bytes(tiny_corpora, tmp_path):
    for name in CORPORA:
        build_corpus(name, tmp_path, "tiny", seed=0, progress=False)
    first = sorted(
        p.relative_to(tiny_corpora) for p in tiny_corpora.rglob("*") if p.is_file()
    )
    second = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert first == second
    for relative in first:
        assert (tiny_corpora / relative).read_bytes() == (
            tmp_path / relative
        ).read_bytes()


def test_another_seed_gives_other_content(tiny_corpora, tmp_path):
    build_corpus("slurp", tmp_path, "tiny", seed=1, progress=False)
    jsonl = "dataset/slurp/train.jsonl"
    assert (tmp_path / "SLURP" / jsonl).read_text() != (
        root(tiny_corpora, "slurp") / jsonl
    ).read_text()


def test_a_complete_build_is_reused_and_a_partial_one_redone(tmp_path):
    data = build_corpus("librilight", tmp_path, "tiny", progress=False)
    stamp = json.loads((data / STAMP).read_text())
    assert stamp == {
        "complete": True,
        "corpus": "librilight",
        "seed": 0,
        "size": "tiny",
        "version": 1,
    }
    marker = data / "small" / "leftover.txt"
    marker.write_text("kept: the corpus is complete")
    assert build_corpus("librilight", tmp_path, "tiny", progress=False) == data
    assert marker.exists()
    (data / STAMP).write_text(json.dumps({**stamp, "complete": False}))
    build_corpus("librilight", tmp_path, "tiny", progress=False)
    assert not marker.exists() and json.loads((data / STAMP).read_text())["complete"]
    with pytest.raises(ValueError, match="already holds a different synthetic corpus"):
        build_corpus("librilight", tmp_path, "tiny", seed=3, progress=False)


def test_a_foreign_folder_is_never_written_into(tmp_path):
    (tmp_path / "LibriSpeech" / "train-clean-100").mkdir(parents=True)
    with pytest.raises(ValueError, match="was not written by summarymixing"):
        build_corpus("librispeech", tmp_path, progress=False)


def test_unknown_corpus_or_size_lists_the_valid_ones(tmp_path, capsys):
    with pytest.raises(
        ValueError, match="valid corpora: librispeech, librilight, comm"
    ):
        build_corpus("commonvoice-fr", tmp_path)
    with pytest.raises(ValueError, match=f"valid sizes: {', '.join(SIZES)}"):
        build_corpus("slurp", tmp_path, size="huge")
    with pytest.raises(SystemExit):
        main(["--corpus", "timit", "--out", str(tmp_path)])
    assert "invalid choice: 'timit'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--corpus", "all", "--size", "medium", "--out", str(tmp_path)])
    assert "choose from tiny, small" in capsys.readouterr().err.replace("'", "")


def test_command_line_in_a_fresh_process_matches_the_library(tiny_corpora, tmp_path):
    arguments = "--corpus commonvoice-eu --size tiny --seed 0 --out".split()
    command = [sys.executable, "-m", "summarymixing.data.synthetic", *arguments]
    command.append(str(tmp_path))
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "commonvoice-eu:" in result.stdout and "100%" in result.stderr
    ours = root(tmp_path, "commonvoice-eu")
    reference = root(tiny_corpora, "commonvoice-eu")
    for clip in sorted((reference / "clips").iterdir()):
        assert (ours / "clips" / clip.name).read_bytes() == clip.read_bytes()
    assert (ours / "train.tsv").read_bytes() == (reference / "train.tsv").read_bytes()


def _build_in_child(out):
    build_corpus("librilight", out, "tiny", progress=False)


def test_concurrent_builds_wait_for_one_another(tiny_corpora, tmp_path):
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_build_in_child, args=(tmp_path,)) for _ in "ab"]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    ours, reference = root(tmp_path, "librilight"), root(tiny_corpora, "librilight")
    for path in sorted(reference.rglob("*.flac")):
        assert (ours / path.relative_to(reference)).read_bytes() == path.read_bytes()
    assert json.loads((ours / STAMP).read_text())["complete"]
