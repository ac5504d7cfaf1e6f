import numpy as np
import pytest
import soundfile

from summarymixing.data.manifest import read_manifest, read_record
from summarymixing.data.pipeline import make_pretraining_dataset
from summarymixing.data.prepare_folder import prepare_folder


def bursts(seconds, seed, rate=16000):
    """Tone bursts of 1-5 s separated by 0.5-2 s of faint noise."""
    rng = np.random.default_rng(seed)
    signal = 1e-3 * rng.standard_normal(round(seconds * rate))
    time = 0.5
    while time < seconds - 5.5:
        duration = rng.uniform(1, 5)
        start, end = round(time * rate), round((time + duration) * rate)
        signal[start:end] += 0.3 * np.sin(
            np.arange(end - start) * rng.uniform(0.05, 0.1)
        )
        time += duration + rng.uniform(0.5, 2)
    return signal.astype(np.float32)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "audio"
    (root / "a" / "b").mkdir(parents=True)
    tone = 0.2 * np.sin(np.arange(44100) * 0.05)
    soundfile.write(root / "one.wav", tone[:16000], 16000)
    soundfile.write(root / "a" / "two.flac", tone[:12000], 8000)
    soundfile.write(root / "a" / "b" / "three.ogg", tone[:44100], 44100)
    soundfile.write(root / "a" / "b" / "four.mp3", tone[:32000], 16000)
    soundfile.write(root / "a" / "two.wav", tone[:4000], 8000)
    (root / "a" / "readme.txt").write_text("not audio")
    (root / "broken.flac").write_bytes(b"\x00" * 1000)
    return root


def test_every_readable_audio_file_is_indexed_recursively(folder, tmp_path):
    manifest = prepare_folder(folder, tmp_path / "prep", manifest_name="mine")
    assert manifest == tmp_path / "prep" / "mine.csv"
    rows = {row["ID"]: row for row in read_manifest(manifest)}
    assert sorted(rows) == ["a/b/four", "a/b/three", "a/two.flac", "a/two.wav", "one"]
    durations = {key: float(row["duration"]) for key, row in rows.items()}
    assert durations["one"] == 1.0
    assert durations["a/two.flac"] == 1.5
    assert durations["a/two.wav"] == 0.5
    assert durations["a/b/three"] == 1.0
    assert durations["a/b/four"] == pytest.approx(2.0, abs=0.08)
    skipped = read_record(manifest)["skipped"]
    assert [item["path"].rsplit("/", 1)[1] for item in skipped] == ["broken.flac"]


def test_extensions_restrict_the_search(folder, tmp_path):
    manifest = prepare_folder(folder, tmp_path / "prep", extensions=(".WAV",))
    assert [row["ID"] for row in read_manifest(manifest)] == ["a/two", "one"]


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        prepare_folder(tmp_path / "nowhere", tmp_path / "prep")


def test_long_files_are_cut_into_segments_that_the_pipeline_reads(tmp_path):
    root = tmp_path / "long"
    root.mkdir()
    soundfile.write(root / "book.flac", bursts(70, 0), 16000)
    soundfile.write(root / "short.wav", bursts(8, 1)[::2], 8000)
    manifest = prepare_folder(root, tmp_path / "prep", max_duration_s=30)
    rows = read_manifest(manifest)
    pieces = [row for row in rows if row["ID"].startswith("book_")]
    assert len(pieces) >= 3
    for row in pieces:
        assert 10 <= float(row["duration"]) <= 30
        assert float(row["stop"]) - float(row["start"]) == pytest.approx(
            float(row["duration"]), abs=2e-3
        )
    short = next(row for row in rows if row["ID"] == "short")
    assert (float(short["start"]), float(short["stop"])) == (0.0, 8.0)

    dataset = make_pretraining_dataset(manifest)
    for index, row in enumerate(rows):
        item = dataset[index]
        assert item["audio_error"] == ""
        assert abs(len(item["sig"]) - float(row["duration"]) * 16000) <= 16


def test_reused_when_unchanged_prepared_again_when_options_change(folder, tmp_path):
    prep = tmp_path / "prep"
    manifest = prepare_folder(folder, prep)
    stamp = (manifest.stat().st_ino, manifest.stat().st_mtime_ns)
    prepare_folder(folder, prep)
    assert (manifest.stat().st_ino, manifest.stat().st_mtime_ns) == stamp
    prepare_folder(folder, prep, max_duration_s=30)
    assert (manifest.stat().st_ino, manifest.stat().st_mtime_ns) != stamp
    assert "start" in read_manifest(manifest)[0]
    assert read_record(manifest)["options"]["max_duration_s"] == 30
