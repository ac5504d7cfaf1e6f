import shutil

import numpy as np
import pytest
import soundfile

from summarymixing.data import prepare_librispeech as module
from summarymixing.data.manifest import read_manifest, read_record
from summarymixing.data.prepare_librispeech import prepare_librispeech

WORDS = ["HELLO", "WORLD", "SPEECH", "MIXING", "SUMMARY", "LINEAR"]


def write_chapter(split_folder, speaker, chapter, durations, rate=16000):
    folder = split_folder / speaker / chapter
    folder.mkdir(parents=True)
    lines = []
    for index, seconds in enumerate(durations):
        utterance_id = f"{speaker}-{chapter}-{index:04d}"
        samples = 0.1 * np.sin(np.arange(round(seconds * rate)) * 0.05)
        soundfile.write(folder / f"{utterance_id}.flac", samples, rate)
        lines.append(f"{utterance_id} {' '.join(WORDS[index : index + 3])}")
    (folder / f"{speaker}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "LibriSpeech"
    write_chapter(root / "dev-clean", "84", "121123", [1.0, 1.5, 0.5])
    write_chapter(root / "dev-clean", "174", "50561", [2.0, 0.75], rate=8000)
    write_chapter(root / "train-clean-100", "19", "198", [1.25])
    return root


def test_manifest_per_split_with_speaker_transcript_and_duration(corpus, tmp_path):
    manifests = prepare_librispeech(
        corpus, tmp_path / "prep", ["dev-clean", "train-clean-100"]
    )
    assert sorted(manifests) == ["dev-clean", "train-clean-100"]
    rows = read_manifest(manifests["dev-clean"])
    assert [row["ID"] for row in rows] == [
        "174-50561-0000",
        "174-50561-0001",
        "84-121123-0000",
        "84-121123-0001",
        "84-121123-0002",
    ]
    by_id = {row["ID"]: row for row in rows}
    assert by_id["84-121123-0001"]["wrd"] == "WORLD SPEECH MIXING"
    assert by_id["84-121123-0001"]["spk_id"] == "84"
    assert float(by_id["84-121123-0001"]["duration"]) == 1.5
    assert float(by_id["174-50561-0000"]["duration"]) == 2.0  # 8 kHz file
    expected = corpus.resolve() / "dev-clean/84/121123/84-121123-0002.flac"
    assert by_id["84-121123-0002"]["wav"] == str(expected)
    assert len(read_manifest(manifests["train-clean-100"])) == 1


def test_missing_split_names_it_and_lists_the_present_ones(corpus, tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        prepare_librispeech(corpus, tmp_path / "prep", ["dev-clean", "dev-other"])
    message = str(caught.value)
    assert "'dev-other'" in message
    assert "['dev-clean', 'train-clean-100']" in message
    assert not (tmp_path / "prep" / "dev-clean.csv").exists()


def test_unreadable_and_untranscribed_files_are_logged_not_written(corpus, tmp_path):
    chapter = corpus / "dev-clean" / "84" / "121123"
    (chapter / "84-121123-0000.flac").unlink()
    (chapter / "84-121123-0001.flac").write_bytes(b"not a flac at all" * 100)
    shutil.copy(chapter / "84-121123-0002.flac", chapter / "84-121123-0009.flac")
    manifest = prepare_librispeech(corpus, tmp_path / "prep", ["dev-clean"])[
        "dev-clean"
    ]
    ids = [row["ID"] for row in read_manifest(manifest)]
    assert ids == ["174-50561-0000", "174-50561-0001", "84-121123-0002"]
    reasons = {
        item["path"].rsplit("/", 1)[1]: item["reason"]
        for item in read_record(manifest)["skipped"]
    }
    assert reasons["84-121123-0000.flac"] == "file not found"
    assert reasons["84-121123-0001.flac"].startswith("cannot decode")
    assert reasons["84-121123-0009.flac"] == "no transcript line"
    assert read_record(manifest)["num_skipped"] == 3


def test_second_call_reuses_and_a_changed_folder_prepares_again(
    corpus, tmp_path, monkeypatch
):
    prep = tmp_path / "prep"
    manifest = prepare_librispeech(corpus, prep, ["dev-clean"])["dev-clean"]
    record = manifest.with_suffix(".json")
    stamps = [
        (path.stat().st_ino, path.stat().st_mtime_ns) for path in (manifest, record)
    ]

    def must_not_run(_folder):
        raise AssertionError("the split was read again")

    with monkeypatch.context() as patch:
        patch.setattr(module, "split_rows", must_not_run)
        assert prepare_librispeech(corpus, prep, ["dev-clean"]) == {
            "dev-clean": manifest
        }
    assert stamps == [
        (path.stat().st_ino, path.stat().st_mtime_ns) for path in (manifest, record)
    ]

    moved = shutil.copytree(corpus, tmp_path / "elsewhere")
    prepare_librispeech(moved, prep, ["dev-clean"])
    rows = read_manifest(manifest)
    assert all(row["wav"].startswith(str(moved.resolve())) for row in rows)
