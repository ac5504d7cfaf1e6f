"""Buckeye: .words parsing, segmentation, and the synthetic corpus read back."""

import shutil

import pytest
import soundfile as sf

from summarymixing.data.manifest import read_manifest, read_record
from summarymixing.data.synthetic import CORPORA
from summarymixing.mp3s.corpora.buckeye import prepare_buckeye
from summarymixing.mp3s.corpora.buckeye_words import (
    Stretch,
    Utterance,
    read_words_file,
    segment_session,
)

COLUMNS = ["ID", "duration", "wav", "start", "stop", "spk_id", "wrd"]


def session(*items: tuple[float, str]) -> list[Stretch]:
    """Stretches from (end time, label) pairs, each starting where the last ends."""
    stretches, start = [], 0.0
    for end, label in items:
        stretches.append(Stretch(start, end, label))
        start = end
    return stretches


def test_short_runs_join_across_pauses_but_never_across_other_speech():
    stretches = session(
        (0.5, "{B_TRANS}"),
        (1.0, "so"),
        (1.2, "<SIL>"),
        (2.0, "i"),
        (2.4, "<VOCNOISE>"),
        (3.5, "went"),  # so ... went: 0.5 to 3.5, past 2 s: closed
        (4.0, "<SIL>"),
        (6.0, "home"),
        (7.0, "<IVER>"),  # the interviewer speaks: never inside an utterance
        (7.5, "yes"),
        (8.0, "<CUTOFF-ye=yes>"),
        (9.9, "right"),
        (10.0, "{E_TRANS}"),
    )
    assert segment_session(stretches) == [
        Utterance(0.5, 3.5, ("so", "i", "went")),
        Utterance(4.0, 6.0, ("home",)),
    ]


def test_long_pauses_split_and_long_runs_are_cut_between_words():
    pause = session((1.0, "a"), (1.5, "b"), (5.0, "<SIL>"), (6.0, "c"), (8.0, "d"))
    assert segment_session(pause, max_pause=2.0) == [Utterance(5.0, 8.0, ("c", "d"))]
    assert segment_session(pause, max_pause=4.0) == [
        Utterance(0.0, 8.0, ("a", "b", "c", "d"))
    ]
    words = session(*[(float(t), f"w{t}") for t in range(1, 21)])
    cut = segment_session(words, max_duration=15.0)
    assert [(u.start, u.stop) for u in cut] == [(0.0, 15.0), (15.0, 20.0)]
    assert sum(len(u.words) for u in cut) == 20


def test_words_files_parse_leniently_but_need_their_header(tmp_path):
    path = tmp_path / "s0101a.words"
    path.write_text(
        "signal s0101a\n#\n"
        "  0.30 122 {B_TRANS}; null; null; null\n"
        "  garbage line\n"
        "  0.90 122 okay; ow k ey; k ey; UH\n"
        "  1.20 122 <SIL>\n"
    )
    assert read_words_file(path) == [
        Stretch(0.0, 0.3, "{B_TRANS}"),
        Stretch(0.3, 0.9, "okay"),
        Stretch(0.9, 1.2, "<SIL>"),
    ]
    path.write_text("  0.30 122 okay; ow k ey; k ey; UH\n")
    with pytest.raises(ValueError, match="no header end line"):
        read_words_file(path)


@pytest.fixture(scope="module")
def buckeye(tiny_corpora, tmp_path_factory):
    save = tmp_path_factory.mktemp("buckeye_prep")
    data = tiny_corpora / CORPORA["buckeye"]
    return data, prepare_buckeye(data, save)


def test_synthetic_buckeye_read_back_by_speaker_splits(buckeye):
    data, manifests = buckeye
    rows = {split: read_manifest(path) for split, path in manifests.items()}
    speakers = {split: {r["spk_id"] for r in rows[split]} for split in rows}
    assert speakers == {
        "train": {"s01", "s02", "s03"},
        "valid": {"s36", "s37"},
        "test": {"s38", "s39", "s40"},
    }
    for split, path in manifests.items():
        assert path.read_text().splitlines()[0].split(",") == COLUMNS
        assert read_record(path)["num_skipped"] == 0
        for row in rows[split]:
            start, stop = float(row["start"]), float(row["stop"])
            assert 2.0 <= float(row["duration"]) <= 15.0
            assert abs(float(row["duration"]) - (stop - start)) < 0.002
            assert stop <= sf.info(row["wav"]).duration
            assert row["wrd"] and set(row["wrd"]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ' ")


def test_segments_hold_exactly_the_aligned_words_and_no_interviewer(buckeye):
    data, manifests = buckeye
    for path in manifests.values():
        for row in read_manifest(path):
            stretches = read_words_file(data / row["spk_id"] / f"{row['ID'][:6]}.words")
            start, stop = float(row["start"]), float(row["stop"])
            inside = [
                s for s in stretches if s.end > start + 1e-3 and s.start < stop - 1e-3
            ]
            assert all(s.is_word or s.is_pause for s in inside), row["ID"]
            words = [s.label.upper() for s in inside if s.is_word]
            assert row["wrd"].split() == words


def test_every_sentence_of_two_seconds_or_more_is_kept(buckeye):
    data, manifests = buckeye
    kept = " ".join(
        row["wrd"] for path in manifests.values() for row in read_manifest(path)
    )
    sentences = []  # (text, seconds) of each run of words between markers
    for path in sorted(data.glob("s*/*.words")):
        run = []
        for stretch in read_words_file(path) + [Stretch(0, 0, "<SIL>")]:
            if stretch.is_word:
                run.append(stretch)
            elif run:
                text = " ".join(s.label.upper() for s in run)
                sentences.append((text, run[-1].end - run[0].start))
                run = []
    long_enough = [text for text, seconds in sentences if seconds >= 2.0]
    assert len(long_enough) >= len(sentences) // 2
    assert all(text in kept for text in long_enough)


def test_a_missing_test_split_is_named(tiny_corpora, tmp_path):
    data = tmp_path / "Buckeye"
    for speaker in ("s01", "s36"):
        shutil.copytree(tiny_corpora / CORPORA["buckeye"] / speaker, data / speaker)
    with pytest.raises(FileNotFoundError) as error:
        prepare_buckeye(data, tmp_path / "prep")
    message = str(error.value)
    assert "Buckeye split 'test' not found" in message
    assert "s38, s39, s40" in message and "holds: s01/, s36/" in message


def test_zipped_sessions_are_reported_with_the_fix(tiny_corpora, tmp_path):
    data = tmp_path / "Buckeye"
    shutil.copytree(tiny_corpora / CORPORA["buckeye"], data)
    shutil.rmtree(data / "s02")
    (data / "s02").mkdir()
    (data / "s02" / "s0201a.zip").touch()
    with pytest.raises(FileNotFoundError, match=r"s02 holds no \.words file.*unpacked"):
        prepare_buckeye(data, tmp_path / "prep")


def test_an_unreadable_session_is_skipped_and_listed(tiny_corpora, tmp_path):
    data = tmp_path / "Buckeye"
    shutil.copytree(tiny_corpora / CORPORA["buckeye"], data)
    broken = data / "s39" / "s3901a.wav"
    broken.write_bytes(b"RIFF not really a wave file")
    manifests = prepare_buckeye(data, tmp_path / "prep")
    record = read_record(manifests["test"])
    assert [item["path"] for item in record["skipped"]] == [str(broken)]
    assert "cannot decode" in record["skipped"][0]["reason"]
    speakers = {row["spk_id"] for row in read_manifest(manifests["test"])}
    assert speakers == {"s38", "s40"}
