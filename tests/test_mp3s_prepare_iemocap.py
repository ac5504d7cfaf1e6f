"""IEMOCAP: four classes, leave-one-speaker-out folds, the synthetic corpus."""

import shutil
from collections import Counter

import pytest
import soundfile as sf

from summarymixing.data.manifest import read_manifest, read_record
from summarymixing.data.synthetic import CORPORA
from summarymixing.mp3s.corpora.iemocap import (
    fold_speakers,
    prepare_iemocap,
    read_emotion_labels,
)

COLUMNS = ["ID", "duration", "wav", "spk_id", "emo"]
SPEAKERS = [f"Ses0{session}{sex}" for session in range(1, 6) for sex in "FM"]


def test_fold_k_tests_speaker_k_and_validates_on_its_session_partner():
    for fold, speaker in enumerate(SPEAKERS, start=1):
        test, valid = fold_speakers(fold)
        assert test == speaker and valid[:5] == test[:5] and valid != test
    for fold in (0, 11):
        with pytest.raises(ValueError, match="fold must be 1 to 10"):
            fold_speakers(fold)


@pytest.mark.parametrize("fold", [1, 4, 10])
def test_synthetic_iemocap_read_back(tiny_corpora, tmp_path, fold):
    data = tiny_corpora / CORPORA["iemocap"]
    manifests = prepare_iemocap(data, tmp_path, fold=fold)
    rows = {split: read_manifest(path) for split, path in manifests.items()}
    test_speaker, valid_speaker = SPEAKERS[fold - 1], fold_speakers(fold)[1]
    assert {r["spk_id"] for r in rows["test"]} == {test_speaker}
    assert {r["spk_id"] for r in rows["valid"]} == {valid_speaker}
    assert {r["spk_id"] for r in rows["train"]} == set(SPEAKERS) - {
        test_speaker,
        valid_speaker,
    }
    labels = {}
    for path in sorted(data.glob("Session*/dialog/EmoEvaluation/*.txt")):
        labels.update(read_emotion_labels(path))
    merged = {u: {"exc": "hap"}.get(e, e) for u, e in labels.items()}
    expected = {u: e for u, e in merged.items() if e in ("neu", "hap", "sad", "ang")}
    found = {r["ID"]: r["emo"] for split in rows.values() for r in split}
    assert found == expected and Counter(labels.values())["exc"] > 0
    for split, path in manifests.items():
        assert path.read_text().splitlines()[0].split(",") == COLUMNS
        assert read_record(path)["num_skipped"] == 0
        for row in rows[split]:
            assert row["ID"][:5] + row["ID"].rsplit("_", 1)[1][0] == row["spk_id"]
            assert abs(float(row["duration"]) - sf.info(row["wav"]).duration) < 1e-3


def test_a_missing_session_is_named(tiny_corpora, tmp_path):
    data = tmp_path / "IEMOCAP_full_release"
    shutil.copytree(tiny_corpora / CORPORA["iemocap"], data)
    shutil.rmtree(data / "Session5")
    with pytest.raises(FileNotFoundError) as error:
        prepare_iemocap(data, tmp_path / "prep")
    assert "IEMOCAP Session5 not found" in str(error.value)
    assert "Session1/, Session2/, Session3/, Session4/" in str(error.value)


def test_an_unreadable_turn_is_skipped_and_listed(tiny_corpora, tmp_path):
    data = tmp_path / "IEMOCAP_full_release"
    shutil.copytree(tiny_corpora / CORPORA["iemocap"], data)
    rows = read_manifest(prepare_iemocap(data, tmp_path / "before", fold=1)["test"])
    broken = rows[0]["wav"]
    with open(broken, "r+b") as handle:
        handle.write(b"NOT A RIFF HEADER")
    manifests = prepare_iemocap(data, tmp_path / "prep", fold=1)
    record = read_record(manifests["test"])
    assert [item["path"] for item in record["skipped"]] == [broken]
    assert len(read_manifest(manifests["test"])) == len(rows) - 1
