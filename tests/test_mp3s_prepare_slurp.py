"""SLURP: one row per recording, training label set, the synthetic corpus read back."""

import json
import shutil

import pytest
import soundfile as sf

from summarymixing.data.manifest import read_manifest, read_record
from summarymixing.mp3s.corpora.slurp import SPLIT_FILES, prepare_slurp

COLUMNS = ["ID", "duration", "wav", "scenario", "action", "intent", "wrd"]


@pytest.fixture(scope="module")
def slurp(tiny_corpora):
    return tiny_corpora / "SLURP"


def records(data, name):
    lines = (data / "dataset" / "slurp" / name).read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_synthetic_slurp_read_back_one_row_per_recording(slurp, tmp_path):
    manifests = prepare_slurp(slurp, tmp_path)
    scenarios, files = {}, {}
    for split, name in SPLIT_FILES.items():
        expected = {
            recording["file"][:-5]: record
            for record in records(slurp, name)
            for recording in record["recordings"]
        }
        rows = read_manifest(manifests[split])
        assert manifests[split].read_text().splitlines()[0].split(",") == COLUMNS
        assert read_record(manifests[split])["num_skipped"] == 0
        assert [row["ID"] for row in rows] == list(expected)
        for row in rows:
            record = expected[row["ID"]]
            assert row["scenario"] == record["scenario"]
            assert row["action"] == record["action"]
            assert row["intent"] == record["intent"]
            assert row["wrd"] == record["sentence"]
            assert abs(float(row["duration"]) - sf.info(row["wav"]).duration) < 1e-3
        scenarios[split] = {row["scenario"] for row in rows}
        files[split] = {row["wav"] for row in rows}
    assert scenarios["valid"] | scenarios["test"] <= scenarios["train"]
    assert not files["train"] & (files["valid"] | files["test"])


def copy_corpus(slurp, tmp_path):
    data = tmp_path / "SLURP"
    shutil.copytree(slurp, data)
    return data


def test_a_held_out_scenario_unseen_in_training_is_an_error(slurp, tmp_path):
    data = copy_corpus(slurp, tmp_path)
    test = records(data, "test.jsonl")
    test[0]["scenario"] = "news"
    lines = "\n".join(json.dumps(record) for record in test)
    (data / "dataset/slurp/test.jsonl").write_text(lines + "\n")
    with pytest.raises(ValueError) as error:
        prepare_slurp(data, tmp_path / "prep")
    assert "test.jsonl: scenario(s) {'news': 1} never occur" in str(error.value)


def test_a_missing_split_or_audio_folder_is_named(slurp, tmp_path):
    data = copy_corpus(slurp, tmp_path)
    (data / "dataset/slurp/devel.jsonl").unlink()
    with pytest.raises(FileNotFoundError) as error:
        prepare_slurp(data, tmp_path / "prep")
    message = str(error.value)
    assert "SLURP split 'devel.jsonl' (valid) not found" in message
    assert "holds: test.jsonl, train.jsonl" in message
    shutil.rmtree(data / "slurp_real")
    with pytest.raises(FileNotFoundError, match="SLURP real-recording audio folder"):
        prepare_slurp(data, tmp_path / "prep")


def test_a_malformed_line_is_named(slurp, tmp_path):
    data = copy_corpus(slurp, tmp_path)
    with (data / "dataset/slurp/train.jsonl").open("a") as handle:
        handle.write('{"sentence": "hi", "scenario": "iot"}\n')
    with pytest.raises(ValueError, match=r"train\.jsonl line \d+ lacks the field"):
        prepare_slurp(data, tmp_path / "prep")


def test_an_unreadable_recording_is_skipped_and_listed(slurp, tmp_path):
    data = copy_corpus(slurp, tmp_path)
    name = records(data, "devel.jsonl")[0]["recordings"][0]["file"]
    broken = data / "slurp_real" / name
    broken.write_bytes(b"fLaC" + bytes(100))
    manifests = prepare_slurp(data, tmp_path / "prep")
    record = read_record(manifests["valid"])
    assert [item["path"] for item in record["skipped"]] == [str(broken)]
    assert name[:-5] not in {row["ID"] for row in read_manifest(manifests["valid"])}
