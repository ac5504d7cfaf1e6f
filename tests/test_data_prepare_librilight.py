import json
import os

import numpy as np
import pytest
import soundfile

from summarymixing.data import prepare_librilight as module
from summarymixing.data.manifest import read_manifest, read_record
from summarymixing.data.prepare_librilight import prepare_librilight

RATE = 16000


def bursts(seconds, seed, rate=RATE):
    """Speech-like bursts of 1-5 s separated by 0.4-2.5 s of faint noise."""
    rng = np.random.default_rng(seed)
    signal = 1e-3 * rng.standard_normal(round(seconds * rate))
    time = rng.uniform(0.4, 2.5)
    while True:
        duration = rng.uniform(1, 5)
        if time + duration > seconds - 0.3:
            break
        start, end = round(time * rate), round((time + duration) * rate)
        t = np.arange(end - start) / rate
        voice = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 5))
        signal[start:end] += 0.3 * voice * (0.2 + 0.8 * np.abs(np.sin(8 * t)))
        time += duration + rng.uniform(0.4, 2.5)
    return signal.astype(np.float32)


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """Raw layout: 2 speakers x 2 books, one ~70 s recording each (+ .json)."""
    subset = tmp_path_factory.mktemp("librilight") / "small"
    for seed, (speaker, book) in enumerate(
        [
            ("100", "sea_fairies"),
            ("100", "oz"),
            ("2007", "emma"),
            ("2007", "persuasion"),
        ]
    ):
        folder = subset / speaker / book
        folder.mkdir(parents=True)
        name = f"{seed:02d}_{book}_64kb"
        rate = 8000 if seed == 3 else RATE
        signal = bursts(70 + 3 * seed, seed)
        soundfile.write(folder / f"{name}.flac", signal[:: RATE // rate], rate)
        (folder / f"{name}.json").write_text(json.dumps({"speaker": speaker}))
    return subset


def piece_files(cut_folder):
    return sorted(path.relative_to(cut_folder) for path in cut_folder.rglob("*.flac"))


def test_raw_recordings_are_cut_into_the_official_layout(raw, tmp_path):
    manifest = prepare_librilight(raw, tmp_path / "prep", cut_folder=tmp_path / "cut")
    rows = read_manifest(manifest)
    files = piece_files(tmp_path / "cut")
    assert [path.with_suffix("").as_posix() for path in files] == [
        row["ID"] for row in rows
    ]
    assert {path.parent.as_posix() for path in files} == {
        "100/sea_fairies",
        "100/oz",
        "2007/emma",
        "2007/persuasion",
    }
    for row in rows:
        stem, index = row["ID"].rsplit("_", 1)
        assert index.isdigit() and stem.endswith("_64kb")
        info = soundfile.info(row["wav"])
        assert info.samplerate == RATE  # the 8 kHz book is resampled
        assert info.duration == pytest.approx(float(row["duration"]), abs=1e-3)
        assert 10 <= info.duration <= 30
    total = sum(float(row["duration"]) for row in rows)
    assert 0.5 * (70 + 73 + 76 + 79) < total < 70 + 73 + 76 + 79
    assert read_record(manifest)["num_skipped"] == 0


def test_restart_reuses_manifest_then_recordings_and_new_options_recut(
    raw, tmp_path, monkeypatch
):
    prep, cut = tmp_path / "prep", tmp_path / "cut"
    manifest = prepare_librilight(raw, prep, cut_folder=cut)
    stamp = manifest.stat().st_mtime_ns
    first_rows = read_manifest(manifest)

    def must_not_cut(*args, **kwargs):
        raise AssertionError("a recording was cut again")

    with monkeypatch.context() as patch:
        patch.setattr(module, "cut_into_pieces", must_not_cut)
        prepare_librilight(raw, prep, cut_folder=cut)
        assert manifest.stat().st_mtime_ns == stamp
        manifest.unlink()  # as if the run died after cutting, before the manifest
        prepare_librilight(raw, prep, cut_folder=cut)
    assert read_manifest(manifest) == first_rows

    lost = read_manifest(manifest)[0]["wav"]  # a piece deleted by hand: re-cut
    os.remove(lost)
    manifest.unlink()
    prepare_librilight(raw, prep, cut_folder=cut)
    assert read_manifest(manifest) == first_rows and os.path.isfile(lost)

    prepare_librilight(raw, prep, cut_folder=cut, min_piece_s=5, max_piece_s=12)
    rows = read_manifest(manifest)
    assert len(rows) > len(first_rows)
    assert all(5 <= float(row["duration"]) <= 12 for row in rows)
    assert len(piece_files(cut)) == len(rows)  # stale pieces removed


def test_an_already_cut_folder_is_only_indexed(raw, tmp_path):
    prepare_librilight(raw, tmp_path / "prep", cut_folder=tmp_path / "cut")
    manifest = prepare_librilight(
        tmp_path / "cut", tmp_path / "prep2", cut_folder=tmp_path / "unused"
    )
    assert not (tmp_path / "unused").exists()
    rows = read_manifest(manifest)
    assert [row["ID"] for row in rows] == [
        path.with_suffix("").as_posix() for path in piece_files(tmp_path / "cut")
    ]
    assert read_record(manifest)["options"]["layout"] == "auto"


def test_unreadable_and_silent_recordings_are_named_and_skipped(tmp_path):
    book = tmp_path / "small" / "1" / "book"
    book.mkdir(parents=True)
    soundfile.write(book / "good.flac", bursts(40, 0), RATE)
    soundfile.write(book / "silent.flac", np.zeros(40 * RATE, np.float32), RATE)
    (book / "corrupt.flac").write_bytes(np.random.default_rng(0).bytes(5000))
    (book / "empty.flac").write_bytes(b"")
    manifest = prepare_librilight(tmp_path / "small", tmp_path / "prep")
    assert {row["ID"].rsplit("_", 1)[0] for row in read_manifest(manifest)} == {
        "1/book/good"
    }
    reasons = {
        item["path"].rsplit("/", 1)[1]: item["reason"]
        for item in read_record(manifest)["skipped"]
    }
    assert reasons["silent.flac"] == "no speech detected"
    assert reasons["empty.flac"] == "empty file (0 bytes)"
    assert reasons["corrupt.flac"].startswith("cannot decode")


def test_parallel_cutting_gives_the_same_manifest(raw, tmp_path):
    def rows_relative_to(manifest, cut_folder):
        rows = read_manifest(manifest)
        return [row | {"wav": row["wav"].replace(str(cut_folder), "")} for row in rows]

    serial = prepare_librilight(raw, tmp_path / "a", cut_folder=tmp_path / "cut_a")
    parallel = prepare_librilight(
        raw, tmp_path / "b", cut_folder=tmp_path / "cut_b", num_workers=2
    )
    assert rows_relative_to(serial, tmp_path / "cut_a") == rows_relative_to(
        parallel, tmp_path / "cut_b"
    )


def test_folder_mistakes_are_clear_errors(raw, tmp_path):
    with pytest.raises(ValueError, match="lies inside data_folder"):
        prepare_librilight(raw, tmp_path / "prep", cut_folder=raw / "cut")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        prepare_librilight(tmp_path / "missing", tmp_path / "prep")
    with pytest.raises(ValueError, match="layout must be"):
        prepare_librilight(raw, tmp_path / "prep", layout="vad")
