"""Fine-tuning data: Libri-Light's limited-resource sets and wav,wrd CSV files."""

import json

import pytest
import torch

from summarymixing.data.audio import write_audio
from summarymixing.data.manifest import read_manifest, read_record
from summarymixing.data.prepare_limited_resource import prepare_limited_resource
from summarymixing.data.prepare_transcribed_csv import prepare_transcribed_csv
from summarymixing.data.synthetic import CORPORA, build_limited_resource
from summarymixing.finetune.data import prepare_splits


@pytest.fixture(scope="module")
def limited(tiny_corpora, tmp_path_factory):
    folder = tmp_path_factory.mktemp("limited") / "librispeech_finetuning"
    return build_limited_resource(tiny_corpora / CORPORA["librispeech"], folder)


def ids(manifest):
    return {row["ID"] for row in read_manifest(manifest)}


def test_the_sets_nest_like_libri_light_and_cover_the_training_split(
    limited, tiny_corpora, tmp_path
):
    sets = {
        name: ids(prepare_limited_resource(limited, tmp_path, name))
        for name in ("10min", "1h", "10h")
    }
    assert sets["10min"] < sets["1h"] < sets["10h"]
    corpus = tiny_corpora / CORPORA["librispeech"]
    assert not (corpus / "librispeech_finetuning").exists()  # the corpus untouched
    train = (corpus / "train-clean-100").rglob("*.flac")
    assert sets["10h"] == {path.stem for path in train}
    folds = [ids_of_fold(limited, fold) for fold in range(6)]
    assert all(folds) and sum(map(len, folds)) == len(sets["1h"])  # disjoint
    row = read_manifest(tmp_path / "1h.csv")[0]
    assert set(row) == {"ID", "duration", "wav", "spk_id", "wrd"}
    assert row["wrd"].isupper() and float(row["duration"]) > 0


def ids_of_fold(limited, fold):
    return {path.stem for path in (limited / "1h" / str(fold)).rglob("*.flac")}


def test_a_missing_fold_is_named_with_the_fix(limited, tmp_path):
    copy = tmp_path / "librispeech_finetuning"
    (copy / "1h" / "0" / "clean").mkdir(parents=True)
    (copy / "1h" / "0" / "other").mkdir(parents=True)
    prepare_limited_resource(copy, tmp_path / "prep", "10min")  # empty but present
    with pytest.raises(FileNotFoundError, match=r"needs .*1h/1/clean.*--limited_re"):
        prepare_limited_resource(copy, tmp_path / "prep", "1h")
    with pytest.raises(ValueError, match="'2h' is not a Libri-Light"):
        prepare_limited_resource(limited, tmp_path / "prep", "2h")


def test_a_csv_skips_and_names_bad_rows_and_reads_any_rate(tmp_path):
    write_audio(tmp_path / "a.wav", torch.zeros(16000), 16000)
    write_audio(tmp_path / "b_8k.flac", torch.zeros(4000), 8000)
    (tmp_path / "empty.wav").write_bytes(b"")
    lines = [
        "ID,wav,wrd,speaker",
        "u1,a.wav,HELLO THERE,s1",
        f"u2,{tmp_path / 'b_8k.flac'},GOOD DAY,s2",
        "u3,empty.wav,LOST,s3",
        "u4,a.wav,,s4",
        "u5,missing.wav,GONE,s5",
    ]
    (tmp_path / "mine.csv").write_text("\n".join(lines) + "\n")
    manifest = prepare_transcribed_csv(tmp_path / "mine.csv", tmp_path / "prep")
    rows = read_manifest(manifest)
    assert [row["ID"] for row in rows] == ["u1", "u2"]
    assert set(rows[0]) == {"ID", "duration", "wav", "wrd"}
    assert [float(row["duration"]) for row in rows] == [1.0, 0.5]
    skipped = {item["path"].rsplit("/", 1)[-1]: item["reason"]
               for item in read_record(manifest)["skipped"]}  # fmt: skip
    assert set(skipped) == {"empty.wav", "a.wav", "missing.wav"}
    assert skipped["a.wav"] == "empty transcript"
    with pytest.raises(ValueError, match="no column 'wrd'"):
        (tmp_path / "bad.csv").write_text("wav,text\na.wav,HI\n")
        prepare_transcribed_csv(tmp_path / "bad.csv", tmp_path / "prep")


def test_splits_of_every_kind_in_one_run(limited, tiny_corpora, tmp_path):
    test = tiny_corpora / CORPORA["librispeech"] / "test-clean"
    rows = [
        json.dumps(str(path)) + ",SOME WORDS" for path in sorted(test.rglob("*.flac"))
    ]
    for folder in ("x", "y"):  # two CSVs of the same name must not collide
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "data.csv").write_text(
            "wav,wrd\n" + "\n".join(rows[: 1 + (folder == "y")]) + "\n"
        )
    hparams = {
        "train_splits": ["10min", "1h"],
        "valid_split": "dev-clean",
        "test_splits": [str(tmp_path / "x/data.csv"), str(tmp_path / "y/data.csv")],
        "data_folder": str(tiny_corpora / CORPORA["librispeech"]),
        "limited_resource_folder": str(limited),
        "output_folder": str(tmp_path / "run"),
    }
    manifests = prepare_splits(hparams)
    assert len(read_manifest(manifests[str(tmp_path / "x/data.csv")])) == 1
    assert len(read_manifest(manifests[str(tmp_path / "y/data.csv")])) == 2
    assert ids(manifests["10min"]) < ids(manifests["1h"])
    assert len(read_manifest(manifests["dev-clean"])) == 4
