import json

import pytest
from speechbrain.dataio.dataio import load_data_csv

from summarymixing.data.manifest import (
    SkippedFile,
    manifest_is_current,
    read_manifest,
    read_record,
    record_path,
    write_manifest,
)

ROWS = [
    {"ID": "84-121123-0000", "duration": 2.5, "wav": "/c/a.flac", "spk_id": "84"}
    | {"wrd": "GO, DO YOU HEAR"},
    {"ID": "84-121123-0001", "duration": 1.25, "wav": "/c/b.flac", "spk_id": "84"}
    | {"wrd": 'SAID "NO"'},
]


def test_speechbrain_reads_our_manifest_with_float_durations(tmp_path):
    path = write_manifest(tmp_path / "dev.csv", ROWS, {"split": "dev"})
    data = load_data_csv(str(path))
    assert list(data) == ["84-121123-0000", "84-121123-0001"]
    assert data["84-121123-0000"] == {
        "duration": 2.5,
        "wav": "/c/a.flac",
        "spk_id": "84",
        "wrd": "GO, DO YOU HEAR",
    }
    assert data["84-121123-0001"]["wrd"] == 'SAID "NO"'
    assert path.read_text().splitlines()[0] == "ID,duration,wav,spk_id,wrd"


def test_record_holds_options_counts_and_skipped_files(tmp_path):
    skipped = [SkippedFile("/c/x.flac", "file not found")]
    skipped += [SkippedFile(f"/c/{n}.flac", f"cannot decode (error {n})") for n in "yz"]
    path = write_manifest(tmp_path / "dev.csv", ROWS, {"split": "dev"}, skipped)
    record = read_record(path)
    assert record["options"] == {"split": "dev"}
    assert (record["num_items"], record["total_seconds"]) == (2, 3.75)
    assert record["num_skipped"] == 3
    assert record["skipped_by_reason"] == {"file not found": 1, "cannot decode": 2}
    assert record["skipped"][0] == {"path": "/c/x.flac", "reason": "file not found"}
    assert record["skipped"][2] == {
        "path": "/c/z.flac",
        "reason": "cannot decode (error z)",
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev.csv", "dev.json"]


def test_currency_follows_options_and_both_files(tmp_path):
    path = tmp_path / "dev.csv"
    assert not manifest_is_current(path, {"split": "dev"})
    write_manifest(path, ROWS, {"split": "dev", "folders": ("a", "b")})
    assert manifest_is_current(path, {"split": "dev", "folders": ["a", "b"]})
    assert not manifest_is_current(path, {"split": "dev", "folders": ["a"]})
    record_path(path).write_text("{truncated")
    assert not manifest_is_current(path, {"split": "dev", "folders": ["a", "b"]})
    write_manifest(path, ROWS, {"split": "dev"})
    path.unlink()
    assert not manifest_is_current(path, {"split": "dev"})


def test_old_record_version_is_not_trusted(tmp_path):
    path = write_manifest(tmp_path / "m.csv", ROWS, {})
    record = read_record(path) | {"version": 0}
    record_path(path).write_text(json.dumps(record))
    assert not manifest_is_current(path, {})


def test_rows_must_share_columns_and_have_unique_ids(tmp_path):
    with pytest.raises(ValueError, match="duplicate ID '84-121123-0000'"):
        write_manifest(tmp_path / "m.csv", [ROWS[0], ROWS[0]], {})
    with pytest.raises(ValueError, match="every row needs exactly the columns"):
        write_manifest(tmp_path / "m.csv", [ROWS[0], {"ID": "x"}], {})
    assert not (tmp_path / "m.csv").exists()


def test_read_manifest_round_trip(tmp_path):
    path = write_manifest(tmp_path / "m.csv", ROWS, {})
    rows = read_manifest(path)
    assert [row["ID"] for row in rows] == [row["ID"] for row in ROWS]
    assert [float(row["duration"]) for row in rows] == [2.5, 1.25]
