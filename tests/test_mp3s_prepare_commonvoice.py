"""CommonVoice Welsh and Basque: the synthetic corpora read back, bad input."""

import csv
import shutil

import pytest
import soundfile as sf

from summarymixing.data.manifest import read_manifest, read_record
from summarymixing.data.synthetic import CORPORA
from summarymixing.mp3s.corpora.common import normalise_transcript
from summarymixing.mp3s.corpora.commonvoice import (
    SPLIT_FILES,
    prepare_commonvoice,
)

COLUMNS = ["ID", "duration", "wav", "spk_id", "wrd"]


def read_tsv(path):
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.mark.parametrize("language", ["cy", "eu"])
def test_synthetic_commonvoice_read_back(tiny_corpora, tmp_path, language):
    data = tiny_corpora / CORPORA[f"commonvoice-{language}"]
    manifests = prepare_commonvoice(data, tmp_path)
    speakers = {}
    for split, tsv_name in SPLIT_FILES.items():
        entries = read_tsv(data / tsv_name)
        rows = read_manifest(manifests[split])
        assert manifests[split].read_text().splitlines()[0].split(",") == COLUMNS
        assert read_record(manifests[split])["num_skipped"] == 0
        assert [row["ID"] for row in rows] == [e["path"][:-4] for e in entries]
        for row, entry in zip(rows, entries, strict=True):
            assert row["wrd"] == normalise_transcript(entry["sentence"])
            assert row["wrd"] and row["wrd"] == row["wrd"].upper()
            assert "." not in row["wrd"] and "?" not in row["wrd"]
            assert row["spk_id"] == entry["client_id"]
            samples, rate = sf.read(row["wav"])
            assert abs(float(row["duration"]) - len(samples) / rate) < 0.01
            assert float(row["duration"]) <= 10.0
        speakers[split] = {row["spk_id"] for row in rows}
    assert not speakers["train"] & (speakers["valid"] | speakers["test"])
    assert not speakers["valid"] & speakers["test"]


def test_clips_over_the_duration_limit_are_left_out_and_listed(tiny_corpora, tmp_path):
    data = tiny_corpora / CORPORA["commonvoice-cy"]
    manifests = prepare_commonvoice(data, tmp_path, max_duration=2.5)
    record = read_record(manifests["train"])
    kept = read_manifest(manifests["train"])
    assert record["num_skipped"] > 0 and kept
    assert len(kept) + record["num_skipped"] == len(read_tsv(data / "train.tsv"))
    assert all("longer than 2.5 s" in item["reason"] for item in record["skipped"])
    assert all(float(row["duration"]) <= 2.5 for row in kept)


def test_a_missing_split_names_the_tsv_and_lists_the_folder(tiny_corpora, tmp_path):
    data = tmp_path / "cy"
    shutil.copytree(tiny_corpora / CORPORA["commonvoice-cy"], data)
    (data / "dev.tsv").unlink()
    with pytest.raises(FileNotFoundError) as error:
        prepare_commonvoice(data, tmp_path / "prep")
    message = str(error.value)
    assert "CommonVoice split 'dev.tsv' (valid) not found" in message
    assert "holds: clips/, test.tsv, train.tsv, validated.tsv" in message


def test_a_tsv_without_sentences_is_named(tiny_corpora, tmp_path):
    data = tmp_path / "eu"
    shutil.copytree(tiny_corpora / CORPORA["commonvoice-eu"], data)
    (data / "test.tsv").write_text("client_id\tpath\nab\tx.mp3\n")
    with pytest.raises(ValueError, match=r"test\.tsv: the header lacks .*'sentence'"):
        prepare_commonvoice(data, tmp_path / "prep")


def test_unreadable_and_missing_clips_are_skipped_and_listed(tiny_corpora, tmp_path):
    data = tmp_path / "cy"
    shutil.copytree(tiny_corpora / CORPORA["commonvoice-cy"], data)
    entries = read_tsv(data / "test.tsv")
    corrupt, missing = (data / "clips" / e["path"] for e in entries[:2])
    corrupt.write_bytes(b"\xff\xfb" + bytes(200))
    missing.unlink()
    manifests = prepare_commonvoice(data, tmp_path / "prep")
    record = read_record(manifests["test"])
    assert {item["path"] for item in record["skipped"]} == {str(corrupt), str(missing)}
    assert len(read_manifest(manifests["test"])) == len(entries) - 2
