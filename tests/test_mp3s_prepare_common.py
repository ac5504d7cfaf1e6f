"""Shared preparer pieces: path checks, reuse, durations, text normalisation."""

import pytest
import torch

from summarymixing.data.audio import write_audio
from summarymixing.data.manifest import read_manifest, read_record
from summarymixing.mp3s.corpora.common import (
    SplitRows,
    normalise_transcript,
    prepare_splits,
    probe_duration,
    require_path,
)


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("Mae’r ŵyn yn y cae.", "MAE'R ŴYN YN Y CAE"),
        ("Dw i'n hoffi te, ond 'dyw e ddim!", "DW I'N HOFFI TE OND DYW E DDIM"),
        ("w\u0302 a\u0302", "Ŵ Â"),  # combining circumflex composes (NFC)
        ("Ez dakit — zergatik?", "EZ DAKIT ZERGATIK"),
        ("Iñigo eta Ane 2 aldiz etorri dira", "IÑIGO ETA ANE 2 ALDIZ ETORRI DIRA"),
        ("uh-huh i don't know", "UH HUH I DON'T KNOW"),
        (" ' ... ", ""),
    ],
)
def test_transcripts_keep_letters_diacritics_digits_and_inner_apostrophes(
    written, normalised
):
    assert normalise_transcript(written) == normalised


def test_a_missing_path_is_named_with_what_its_folder_holds(tmp_path):
    (tmp_path / "train.tsv").touch()
    (tmp_path / "clips").mkdir()
    with pytest.raises(FileNotFoundError) as error:
        require_path(tmp_path / "dev.tsv", "CommonVoice split 'dev'", "Fix it so.")
    message = str(error.value)
    assert "CommonVoice split 'dev' not found" in message
    assert str(tmp_path / "dev.tsv") in message
    assert "holds: clips/, train.tsv" in message and message.endswith("Fix it so.")


def test_unreadable_audio_is_noted_not_raised(tmp_path):
    good, empty = tmp_path / "good.wav", tmp_path / "empty.wav"
    write_audio(good, torch.zeros(4000), 16000)
    empty.touch()
    skipped = []
    assert probe_duration(good, skipped) == 0.25
    assert probe_duration(empty, skipped) is None
    assert [(s.path, s.reason) for s in skipped] == [
        (str(empty), "empty file (0 bytes)")
    ]


def test_manifests_are_reused_until_an_option_changes(tmp_path):
    reads = []

    def read():
        reads.append(1)
        return {
            "train": SplitRows([{"ID": "a", "duration": 1.0, "wav": "/a.wav"}]),
            "test": SplitRows(),
        }

    first = prepare_splits(tmp_path, ["train", "test"], {"max_s": 10}, read)
    again = prepare_splits(tmp_path, ["train", "test"], {"max_s": 10}, read)
    assert first == again and len(reads) == 1
    assert read_manifest(first["train"])[0]["ID"] == "a"
    assert read_record(first["test"])["options"] == {"max_s": 10, "split": "test"}
    first["test"].unlink()
    prepare_splits(tmp_path, ["train", "test"], {"max_s": 10}, read)
    prepare_splits(tmp_path, ["train", "test"], {"max_s": 5}, read)
    assert len(reads) == 3
