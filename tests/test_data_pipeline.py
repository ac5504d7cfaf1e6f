import numpy as np
import pytest
import soundfile
import torch
from speechbrain.dataio.dataloader import make_dataloader
from speechbrain.dataio.sampler import DistributedSamplerWrapper
from speechbrain.utils.checkpoints import Checkpointer

from summarymixing.data.bad_audio import (
    BadAudioTracker,
    SkipBadAudio,
    SkippedAudio,
    TooManyBadFilesError,
)
from summarymixing.data.manifest import write_manifest
from summarymixing.data.pipeline import (
    make_dynamic_batch_sampler,
    make_pretraining_dataset,
)

GOOD_SECONDS = {"g0": 1.0, "g1": 1.5, "g2": 2.0, "g3": 2.5, "g4": 3.0, "g5": 0.5}
BAD_REASONS = {
    "missing": "file not found",
    "empty": "empty file (0 bytes)",
    "corrupt": "cannot decode",
}


def write_tone(path, seconds, rate):
    time = np.arange(round(seconds * rate)) / rate
    soundfile.write(path, 0.3 * np.sin(2 * np.pi * 220 * time), rate)


@pytest.fixture
def manifest(tmp_path):
    """Six good 16 kHz files, one 8 kHz file, and a missing, an empty and a
    corrupt file (as if they broke after preparation)."""
    rows = []
    for name, seconds in GOOD_SECONDS.items():
        write_tone(tmp_path / f"{name}.flac", seconds, 16000)
        rows.append({"ID": name, "duration": seconds, "wav": tmp_path / f"{name}.flac"})
    write_tone(tmp_path / "rate8k.flac", 2.0, 8000)
    rows.append({"ID": "rate8k", "duration": 2.0, "wav": tmp_path / "rate8k.flac"})
    (tmp_path / "empty.flac").write_bytes(b"")
    (tmp_path / "corrupt.flac").write_bytes(np.random.default_rng(0).bytes(4096))
    for name, seconds in [("missing", 2.0), ("empty", 1.0), ("corrupt", 1.5)]:
        rows.append({"ID": name, "duration": seconds, "wav": tmp_path / f"{name}.flac"})
    return write_manifest(tmp_path / "train.csv", rows, {})


def run_epoch(loader, tracker):
    """Signals yielded per ID; a substitute for an all-bad batch is checked apart."""
    yielded = {}
    for batch in loader:
        tracker.update(batch)
        signals, lengths = batch.sig
        if len(batch.skipped) == batch.num_requested:
            assert batch.id == ["g0"]  # the first readable item stands in
            continue
        for utterance_id, signal, length in zip(
            batch.id, signals, lengths, strict=True
        ):
            assert utterance_id not in yielded
            yielded[utterance_id] = signal[: round(length.item() * signals.shape[1])]
    return yielded


@pytest.mark.parametrize("num_workers", [0, 2])
def test_bad_files_are_skipped_named_and_counted_through_the_dataloader(
    manifest, num_workers
):
    dataset = make_pretraining_dataset(manifest)
    sampler = make_dynamic_batch_sampler(dataset, max_batch_length_s=5, num_buckets=3)
    loader = make_dataloader(
        dataset,
        batch_sampler=sampler,
        collate_fn=SkipBadAudio(dataset),
        num_workers=num_workers,
    )
    tracker = BadAudioTracker(max_fraction=0.5, min_items=10)
    yielded = run_epoch(loader, tracker)

    assert set(yielded) == set(GOOD_SECONDS) | {"rate8k"}
    for name, seconds in GOOD_SECONDS.items():
        assert yielded[name].shape == (round(seconds * 16000),)
    assert yielded["rate8k"].shape == (32000,)  # 8 kHz resampled to 16 kHz
    assert yielded["rate8k"].abs().max() > 0.2
    assert tracker.num_seen == 10 and tracker.num_skipped == 3
    assert set(tracker.skipped) == set(BAD_REASONS)
    for name, reason in BAD_REASONS.items():
        assert tracker.skipped[name].reason.startswith(reason)
        assert tracker.skipped[name].path.endswith(f"{name}.flac")
    assert tracker.summary() == (
        "bad audio: 3 skipped of 10 items (3 distinct files: "
        "1 cannot decode, 1 empty file, 1 file not found)"
    )


def test_too_many_bad_files_stop_the_run_with_the_files_named(manifest):
    dataset = make_pretraining_dataset(manifest)
    sampler = make_dynamic_batch_sampler(dataset, 5, num_buckets=3, shuffle=False)
    loader = make_dataloader(
        dataset, batch_sampler=sampler, collate_fn=SkipBadAudio(dataset)
    )
    tracker = BadAudioTracker(max_fraction=0.2, min_items=9)
    with pytest.raises(TooManyBadFilesError, match="3 of 10 audio items") as caught:
        for batch in loader:
            tracker.update(batch)
    assert "missing.flac: file not found" in str(caught.value)


def test_a_batch_of_only_bad_files_gets_a_readable_substitute(manifest):
    dataset = make_pretraining_dataset(manifest)
    bad = [dataset[index] for index in range(7, 10)]
    batch = SkipBadAudio(dataset)(bad)
    assert batch.id == ["g0"]
    assert [item.id for item in batch.skipped] == ["missing", "empty", "corrupt"]
    assert batch.sig.data.shape == (1, 16000)


def test_a_dataset_with_nothing_readable_is_a_clear_error(tmp_path):
    rows = [{"ID": "a", "duration": 1.0, "wav": tmp_path / "gone.flac"}]
    dataset = make_pretraining_dataset(write_manifest(tmp_path / "m.csv", rows, {}))
    with pytest.raises(TooManyBadFilesError, match="No audio file"):
        SkipBadAudio(dataset)([dataset[0]])


def test_tracker_counts_survive_a_checkpoint(tmp_path):
    tracker = BadAudioTracker()
    tracker.num_seen, tracker.num_skipped = 40, 2
    tracker.skipped = {"x": SkippedAudio("x", "/x.flac", "file not found")}
    Checkpointer(tmp_path, {"bad_audio": tracker}).save_checkpoint()
    restored = BadAudioTracker()
    Checkpointer(tmp_path, {"bad_audio": restored}).recover_if_possible()
    assert (restored.num_seen, restored.num_skipped) == (40, 2)
    assert restored.skipped == tracker.skipped


def batches_of(sampler, epoch):
    sampler.set_epoch(epoch)
    return [list(batch) for batch in sampler]


def test_batches_hold_at_most_the_budget_and_depend_only_on_seed_and_epoch(
    manifest,
):
    dataset = make_pretraining_dataset(manifest)
    durations = [dataset.data[key]["duration"] for key in dataset.data_ids]
    used = make_dynamic_batch_sampler(dataset, 5, num_buckets=3, seed=7)
    list(used), list(used)  # iterating without set_epoch changes its state
    fresh = make_dynamic_batch_sampler(dataset, 5, num_buckets=3, seed=7)
    assert batches_of(used, 3) == batches_of(fresh, 3)
    epoch_3 = batches_of(fresh, 3)
    assert sorted(i for batch in epoch_3 for i in batch) == list(range(10))
    assert all(sum(durations[i] for i in batch) <= 5 for batch in epoch_3)
    assert any(batches_of(fresh, epoch) != epoch_3 for epoch in (4, 5, 6))


def test_position_inside_an_epoch_is_restored_from_a_checkpoint(manifest, tmp_path):
    def loader_and_sampler():
        dataset = make_pretraining_dataset(manifest)
        sampler = make_dynamic_batch_sampler(dataset, 3, num_buckets=3, seed=1)
        collate = SkipBadAudio(dataset)
        loader = make_dataloader(dataset, batch_sampler=sampler, collate_fn=collate)
        return loader, sampler

    loader, sampler = loader_and_sampler()
    sampler.set_epoch(2)
    iterator = iter(loader)
    [next(iterator) for _ in range(2)]
    Checkpointer(tmp_path, {"loader": loader}).save_checkpoint(end_of_epoch=False)
    remaining = [batch.id for batch in iterator]
    assert remaining

    resumed, resumed_sampler = loader_and_sampler()
    Checkpointer(tmp_path, {"loader": resumed}).recover_if_possible()
    resumed_sampler.set_epoch(2)  # what Brain does at the start of the epoch
    assert [batch.id for batch in resumed] == remaining


def test_ddp_wrapper_shards_batches_across_ranks_and_forwards_set_epoch(manifest):
    dataset = make_pretraining_dataset(manifest)
    shards = []
    for rank in range(2):
        sampler = make_dynamic_batch_sampler(dataset, 4, num_buckets=3)
        wrapper = DistributedSamplerWrapper(sampler, num_replicas=2, rank=rank)
        wrapper.set_epoch(1)
        assert sampler._epoch == 1
        shards.append([list(batch) for batch in wrapper])
    assert len(shards[0]) == len(shards[1])
    covered = {index for shard in shards for batch in shard for index in batch}
    assert covered == set(range(10))


def test_several_manifests_filters_and_errors(manifest, tmp_path):
    other = write_manifest(
        tmp_path / "more.csv",
        [{"ID": "extra", "duration": 9.0, "wav": tmp_path / "g0.flac"}],
        {},
    )
    dataset = make_pretraining_dataset([manifest, other])
    assert len(dataset) == 11
    short = make_pretraining_dataset(
        [manifest, other], min_duration_s=1.0, max_duration_s=2.0
    )
    assert sorted(short.data_ids) == [
        "corrupt",
        "empty",
        "g0",
        "g1",
        "g2",
        "missing",
        "rate8k",
    ]
    with pytest.raises(ValueError, match="'extra' appears twice"):
        make_pretraining_dataset([manifest, other, other])
    with pytest.raises(FileNotFoundError, match="run data preparation first"):
        make_pretraining_dataset(tmp_path / "nothing.csv")
    assert torch.equal(dataset[10]["sig"], dataset[0]["sig"])


def test_items_left_out_by_the_duration_limits_are_counted_and_named(manifest, caplog):
    with caplog.at_level("DEBUG", logger="summarymixing.data.pipeline"):
        kept = make_pretraining_dataset(manifest, min_duration_s=1.0, max_duration_s=2)
    too_long = [key for key, value in GOOD_SECONDS.items() if value > 2]
    too_short = [key for key, value in GOOD_SECONDS.items() if value < 1]
    assert 10 - len(kept) == len(too_long) + len(too_short) > 0
    assert kept.left_out_by_duration == {
        "longer than 2 s": len(too_long),
        "shorter than 1 s": len(too_short),
    }
    warning = [r for r in caplog.records if r.levelname == "WARNING"][-1].getMessage()
    assert warning.startswith(
        f"{10 - len(kept)} of 10 items left out by the duration limits "
        f"({len(too_long)} longer than 2 s, {len(too_short)} shorter than 1 s)"
    )
    assert "max_utterance_seconds" in warning
    each = [r.getMessage() for r in caplog.records if r.levelname == "DEBUG"]
    for key in too_long:
        assert any(m.startswith(f"Left out {key} (") for m in each)
        assert f"Left out {key} ({manifest.parent}" in "\n".join(each)


def test_a_silent_file_is_skipped_and_named_like_a_broken_one(tmp_path):
    write_tone(tmp_path / "tone.flac", 1.0, 16000)
    soundfile.write(tmp_path / "silent.flac", np.zeros(16000, np.float32), 16000)
    rows = [
        {"ID": name, "duration": 1.0, "wav": tmp_path / f"{name}.flac"}
        for name in ("tone", "silent")
    ]
    dataset = make_pretraining_dataset(write_manifest(tmp_path / "m.csv", rows, {}))
    batch = SkipBadAudio(dataset)([dataset[0], dataset[1]])
    tracker = BadAudioTracker(max_fraction=0.5, min_items=10)
    tracker.update(batch)
    assert batch.id == ["tone"]
    assert tracker.skipped["silent"].reason == "silent (every sample is 0)"


def test_near_silence_is_left_out_below_the_configured_rms(tmp_path):
    rng = np.random.default_rng(0)
    levels = {"tone": None, "hiss": 1e-5, "faint": 1e-3, "zeros": 0.0}
    for name, rms in levels.items():
        if rms is None:
            write_tone(tmp_path / f"{name}.flac", 1.0, 16000)
        else:
            noise = (rms * rng.standard_normal(16000)).astype(np.float32)
            soundfile.write(tmp_path / f"{name}.wav", noise, 16000, "FLOAT")
    rows = [
        {"ID": name, "duration": 1.0, "wav": tmp_path / f"{name}.{ext}"}
        for name, ext in zip(levels, ("flac", "wav", "wav", "wav"), strict=True)
    ]
    manifest = write_manifest(tmp_path / "m.csv", rows, {})

    def left_out(threshold):
        dataset = make_pretraining_dataset(manifest, silence_rms_threshold=threshold)
        return {
            item["id"]: item["audio_error"] for item in dataset if item["audio_error"]
        }

    default = left_out(1e-4)
    assert set(default) == {"hiss", "zeros"}
    assert default["hiss"].startswith("silent (RMS 1.0e-05, at or below ")
    assert "silence_rms_threshold 0.0001" in default["hiss"]
    assert set(left_out(1e-2)) == {"hiss", "faint", "zeros"}
    assert set(left_out(0.0)) == {"zeros"}  # digital silence only
    assert left_out(None) == {}  # test sets score every item
