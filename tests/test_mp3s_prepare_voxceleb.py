"""VoxCeleb1: the synthetic corpus read back, trials resolved, bad input."""

import shutil

import pytest
import soundfile as sf

from summarymixing.data.manifest import read_manifest, read_record
from summarymixing.data.synthetic import CORPORA
from summarymixing.mp3s.corpora.voxceleb import prepare_voxceleb, read_trials

COLUMNS = ["ID", "duration", "wav", "start", "stop", "spk_id"]


@pytest.fixture(scope="module")
def voxceleb(tiny_corpora, tmp_path_factory):
    data = tiny_corpora / CORPORA["voxceleb1"]
    return data, prepare_voxceleb(data, tmp_path_factory.mktemp("vox_prep"))


def test_training_speakers_are_those_outside_the_trials(voxceleb):
    data, manifests = voxceleb
    trials = read_trials(data / "veri_test2.txt", data / "wav")
    trial_speakers = {t.enrol_id[:7] for t in trials} | {t.test_id[:7] for t in trials}
    all_speakers = {path.name for path in (data / "wav").iterdir()}
    rows = {split: read_manifest(path) for split, path in manifests.items()}
    speakers = {split: {row["spk_id"] for row in rows[split]} for split in rows}
    assert speakers["train"] == speakers["valid"] == all_speakers - trial_speakers
    assert speakers["enrol"] | speakers["test"] == trial_speakers
    train_files = {row["wav"] for row in rows["train"]}
    assert not train_files & {row["wav"] for row in rows["valid"]}


def test_chunks_are_three_seconds_within_their_utterance(voxceleb):
    _, manifests = voxceleb
    for split in ("train", "valid"):
        assert manifests[split].read_text().splitlines()[0].split(",") == COLUMNS
        for row in read_manifest(manifests[split]):
            start, stop = float(row["start"]), float(row["stop"])
            duration = sf.info(row["wav"]).duration
            assert stop <= duration + 1e-3 and 0 <= start < stop
            assert float(row["duration"]) == pytest.approx(stop - start, abs=2e-3)
            whole = start == 0 and duration < 3.0
            assert whole or float(row["duration"]) == pytest.approx(3.0)


def test_every_trial_resolves_to_enrol_and_test_rows(voxceleb):
    data, manifests = voxceleb
    trials = read_trials(data / "veri_test2.txt", data / "wav")
    enrol = {row["ID"]: row for row in read_manifest(manifests["enrol"])}
    test = {row["ID"]: row for row in read_manifest(manifests["test"])}
    assert {t.enrol_id for t in trials} == set(enrol)
    assert {t.test_id for t in trials} == set(test)
    assert {t.label for t in trials} == {0, 1}
    for trial in trials:
        same = enrol[trial.enrol_id]["spk_id"] == test[trial.test_id]["spk_id"]
        assert same == (trial.label == 1)
    for row in enrol.values():
        assert float(row["start"]) == 0
        assert float(row["stop"]) == pytest.approx(sf.info(row["wav"]).duration, 1e-3)


def copy_corpus(tiny_corpora, tmp_path):
    data = tmp_path / "VoxCeleb1"
    shutil.copytree(tiny_corpora / CORPORA["voxceleb1"], data)
    return data


def test_a_trial_naming_a_missing_file_names_it_and_the_trials_file(
    tiny_corpora, tmp_path
):
    data = copy_corpus(tiny_corpora, tmp_path)
    trials = data / "veri_test2.txt"
    enrol = trials.read_text().split()[1]
    missing = "id10271/nOtAvIdEo00/00009.wav"
    with trials.open("a") as handle:
        handle.write(f"0 {enrol} {missing}\n")
    with pytest.raises(FileNotFoundError) as error:
        prepare_voxceleb(data, tmp_path / "prep")
    message = str(error.value)
    assert f"names {missing}" in message and str(trials) in message
    line = len(trials.read_text().splitlines())
    assert f"veri_test2.txt line {line}" in message


def test_a_missing_trials_file_or_wav_folder_is_named(tiny_corpora, tmp_path):
    data = copy_corpus(tiny_corpora, tmp_path)
    with pytest.raises(FileNotFoundError, match="VoxCeleb trials file not found"):
        prepare_voxceleb(data, tmp_path / "prep", trials_file=data / "veri_test.txt")
    shutil.rmtree(data / "wav")
    with pytest.raises(FileNotFoundError, match="VoxCeleb1 wav folder not found"):
        prepare_voxceleb(data, tmp_path / "prep")


def test_a_malformed_trial_line_is_named(tiny_corpora, tmp_path):
    data = copy_corpus(tiny_corpora, tmp_path)
    (data / "veri_test2.txt").write_text("yes id10270/a.wav id10271/b.wav\n")
    with pytest.raises(ValueError, match=r"veri_test2\.txt line 1: expected"):
        prepare_voxceleb(data, tmp_path / "prep")


def test_an_unreadable_file_is_skipped_and_listed(tiny_corpora, tmp_path):
    data = copy_corpus(tiny_corpora, tmp_path)
    trial = (data / "veri_test2.txt").read_text().split()
    broken = data / "wav" / trial[1]
    broken.write_bytes(b"")
    manifests = prepare_voxceleb(data, tmp_path / "prep")
    record = read_record(manifests["enrol"])
    assert record["skipped"] == [
        {"path": str(broken), "reason": "empty file (0 bytes)"}
    ]
    enrol_ids = {row["ID"] for row in read_manifest(manifests["enrol"])}
    assert trial[1][:-4] not in enrol_ids and enrol_ids
