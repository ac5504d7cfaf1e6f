"""Training support: atomic checkpoints, non-finite guard, config and options."""

import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.checkpoints import mark_as_saver, register_checkpoint_hooks

from summarymixing.training.checkpointer import (
    AtomicCheckpointer,
    DamagedCheckpointsError,
)
from summarymixing.training.config import (
    check_override_types,
    merged_overrides,
    plain_defaults,
)
from summarymixing.training.determinism import set_deterministic
from summarymixing.training.nonfinite import NonFiniteGuard
from summarymixing.training.random_state import RandomState
from summarymixing.training.run_options import parse_arguments
from summarymixing.training.step_log import StepLog

HPARAMS = Path(__file__).resolve().parents[1] / "hparams"


@register_checkpoint_hooks
class CrashingSaver:
    """A recoverable whose save dies half-way, like a run killed while saving."""

    @mark_as_saver
    def save(self, path):
        Path(path).write_text("partial")
        raise KeyboardInterrupt("killed while saving")


def test_interrupted_save_leaves_no_checkpoint(tmp_path, caplog):
    model = torch.nn.Linear(2, 2)
    checkpointer = AtomicCheckpointer(
        tmp_path, recoverables={"model": model, "crash": CrashingSaver()}
    )
    with pytest.raises(KeyboardInterrupt):
        checkpointer.save_checkpoint()
    assert checkpointer.list_checkpoints() == []
    assert checkpointer.find_checkpoint() is None
    # the next start removes the unfinished folder, and says so once logging is on
    unfinished = list(tmp_path.glob("CKPT+*"))
    restarted = AtomicCheckpointer(tmp_path, recoverables={"model": model})
    assert list(tmp_path.glob("CKPT+*")) == []
    assert restarted.removed_unfinished == unfinished != []
    with caplog.at_level("WARNING", logger="summarymixing.training.checkpointer"):
        restarted.log_removed()
    assert f"removed unfinished checkpoint {unfinished[0]}" in caplog.text


def test_complete_checkpoint_recovers(tmp_path):
    model = torch.nn.Linear(2, 2)
    AtomicCheckpointer(tmp_path, recoverables={"model": model}).save_checkpoint()
    other = torch.nn.Linear(2, 2)
    AtomicCheckpointer(tmp_path, recoverables={"model": other}).recover_if_possible()
    assert torch.equal(model.weight, other.weight)


def save_three_checkpoints(folder: Path) -> tuple[AtomicCheckpointer, list, list]:
    model = torch.nn.Linear(2, 2)
    checkpointer = AtomicCheckpointer(folder, recoverables={"model": model})
    saved, weights = [], []
    for step in range(3):
        with torch.no_grad():
            model.weight.fill_(step)
        saved.append(checkpointer.save_checkpoint(meta={"step": step}))
        weights.append(model.weight.detach().clone())
    return checkpointer, saved, weights


@pytest.mark.parametrize(
    "damage, named",
    [
        (lambda ckpt: (ckpt / "model.ckpt").unlink(), "model.ckpt is missing"),
        (
            lambda ckpt: (ckpt / "model.ckpt").write_bytes(b"\0" * 10),
            "model.ckpt was changed or cut short",
        ),
        (
            lambda ckpt: (ckpt / "CKPT.yaml").write_text("{unixtime: [unclosed"),
            "its CKPT.yaml cannot be read",
        ),
    ],
)
def test_a_damaged_checkpoint_is_named_set_aside_and_the_previous_one_resumes(
    tmp_path, caplog, damage, named
):
    _, saved, weights = save_three_checkpoints(tmp_path)
    damage(saved[2].path)
    model = torch.nn.Linear(2, 2)
    resumed = AtomicCheckpointer(tmp_path, recoverables={"model": model})
    with caplog.at_level("WARNING", logger="summarymixing.training.checkpointer"):
        checkpoint = resumed.recover_if_possible()
    assert checkpoint.meta["step"] == 1
    assert torch.equal(model.weight, weights[1])
    assert f"checkpoint {saved[2].path} is damaged ({named}" in caplog.text
    assert (
        f"resuming from {saved[1].path} instead" in caplog.text or "CKPT.yaml" in named
    )
    aside = tmp_path / f"damaged-{saved[2].path.name}"
    assert aside.is_dir() and not saved[2].path.exists()
    # set aside for good: the next start does not look at it again
    assert sorted(c.meta["step"] for c in resumed.list_checkpoints()) == [0, 1]
    caplog.clear()
    with caplog.at_level("WARNING", logger="summarymixing.training.checkpointer"):
        resumed.log_removed()  # repeated once log.txt is open
    assert f"set aside damaged checkpoint {saved[2].path}" in caplog.text


def test_an_intact_checkpoint_verifies_and_old_checkpoints_without_digests_load(
    tmp_path,
):
    checkpointer, saved, weights = save_three_checkpoints(tmp_path)
    digests = saved[2].meta["file_sha256"]
    assert set(digests) == {"model.ckpt"}
    # a checkpoint written before digests were recorded: only presence is checked
    meta = saved[2].path / "CKPT.yaml"
    meta.write_text(meta.read_text().split("file_sha256")[0])
    model = torch.nn.Linear(2, 2)
    resumed = AtomicCheckpointer(tmp_path, recoverables={"model": model})
    assert resumed.recover_if_possible().meta["step"] == 2
    assert torch.equal(model.weight, weights[2])


def test_every_checkpoint_damaged_is_one_error_naming_them(tmp_path):
    _, saved, _ = save_three_checkpoints(tmp_path)
    for checkpoint in saved:
        (checkpoint.path / "model.ckpt").write_bytes(b"")
    resumed = AtomicCheckpointer(tmp_path, {"model": torch.nn.Linear(2, 2)})
    with pytest.raises(DamagedCheckpointsError) as error:
        resumed.check_matches()
    message = str(error.value)
    assert all(checkpoint.path.name in message for checkpoint in saved)
    assert "Restore them from a copy" in message
    # nothing is left to resume: a further start begins from scratch
    assert (
        AtomicCheckpointer(tmp_path, {"m": torch.nn.Linear(2, 2)}).recover_if_possible()
        is None
    )


def test_nonfinite_guard_gives_zero_gradients_and_stops_after_the_limit():
    weight = torch.nn.Parameter(torch.ones(3))
    guard = NonFiniteGuard(max_skipped=2)
    for _ in range(2):
        loss = guard.check(weight.sum() * float("nan"), [weight], ["a", "b"])
        loss.backward()
        assert torch.equal(weight.grad, torch.zeros(3))
    assert guard.skipped == 2
    with pytest.raises(RuntimeError, match="max_nonfinite_batches=2"):
        guard.check(torch.tensor(float("inf")), [weight], ["c"])
    finite = torch.tensor(1.5)
    assert guard.check(finite, [weight], ["d"]) is finite


def test_variants_extend_one_base_and_differ_only_in_the_mixer():
    bases = {}
    for name in ("summarymixing", "mhsa", "summarymixing_lite"):
        base, overrides = merged_overrides(HPARAMS / f"w2v2_{name}.yaml", None)
        bases[name] = (base.name, overrides)
    assert {base for base, _ in bases.values()} == {"w2v2_base.yaml"}
    assert bases["mhsa"][1] == {"attention_type": "regularMHA"}
    assert bases["summarymixing_lite"][1]["mode"] == "SummaryMixing-lite"


def test_override_typo_is_an_error_with_a_suggestion():
    with pytest.raises(ValueError, match="did you mean max_batch_length"):
        merged_overrides(HPARAMS / "w2v2_summarymixing.yaml", "max_batch_lenght: 5")


def test_learning_rate_with_an_exponent_from_the_command_line_is_a_float():
    # PyYAML (YAML 1.1) reads 1e-4 as a string; AdamW then failed on it.
    _, _, cli = parse_arguments(["h.yaml", "--lr", "1e-4", "--warmup_steps", "5"])
    base, overrides = merged_overrides(HPARAMS / "w2v2_summarymixing.yaml", cli)
    assert (overrides["lr"], overrides["warmup_steps"]) == (1e-4, 5)
    assert isinstance(overrides["lr"], float)
    optimizer = torch.optim.AdamW(torch.nn.Linear(2, 2).parameters(), overrides["lr"])
    assert optimizer.defaults["lr"] == 1e-4


def test_lists_and_booleans_from_the_command_line_are_what_users_mean():
    argv = ["h.yaml", "--local_proj_hid_dim", "[64]", "--quality_monitor", "false"]
    _, _, cli = parse_arguments(argv)
    _, overrides = merged_overrides(HPARAMS / "w2v2_summarymixing.yaml", cli)
    assert overrides["local_proj_hid_dim"] == [64]
    assert overrides["quality_monitor"] is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lr", "abc"], "--lr abc: lr must be a number (w2v2_base.yaml has 0.0005)"),
        (["--quality_monitor", "maybe"], "quality_monitor must be true or false"),
        (["--local_proj_hid_dim", "64"], "local_proj_hid_dim must be a list"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_key_value_and_type(argv, message):
    _, _, cli = parse_arguments(["h.yaml", *argv])
    with pytest.raises(ValueError, match=re.escape(message)):
        merged_overrides(HPARAMS / "w2v2_summarymixing.yaml", cli)


def test_missing_hparams_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.yaml"):
        merged_overrides(tmp_path / "nothere.yaml", None)


def test_optimizer_step_limit_from_the_command_line_is_an_int():
    _, options, _ = parse_arguments(["h.yaml", "--optimizer_step_limit", "1000"])
    assert options["optimizer_step_limit"] == 1000
    assert (
        parse_arguments(["h.yaml", "--optimizer_step_limit", "0"])[1][
            "optimizer_step_limit"
        ]
        == 0
    )  # 0: the recipe exports the untrained encoder
    with pytest.raises(ValueError, match="--optimizer_step_limit must be a whole"):
        parse_arguments(["h.yaml", "--optimizer_step_limit", "ten"])


def test_random_state_restores_every_generator(tmp_path):
    state = RandomState()
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    state.save(tmp_path / "rng.ckpt")
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(2), np.random.seed(2), torch.manual_seed(2)
    state.load(tmp_path / "rng.ckpt")
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_step_log_reports_averages_and_throughput_at_the_interval():
    log = StepLog(interval=2, world_size=2)
    log.add_batch({"loss": torch.tensor(1.0), "accuracy": torch.tensor(0.5)}, 10.0)
    assert log.maybe_emit(optimizer_step=1, lr=0.1, grad_norm=1.0) is None
    log.add_batch({"loss": torch.tensor(3.0), "accuracy": torch.tensor(0.7)}, 10.0)
    line = log.maybe_emit(optimizer_step=2, lr=0.1, grad_norm=1.0)
    assert "loss 2.000" in line and "accuracy 0.600" in line and "audio s/s" in line


def test_demo_is_chosen_only_when_no_data_folder_is_configured_anywhere(tmp_path):
    from summarymixing.training.config import configured_value

    variant = HPARAMS / "w2v2_summarymixing.yaml"
    assert configured_value(variant, {}, "data_folder") is None
    assert configured_value(variant, {"data_folder": "/d"}, "data_folder") == "/d"
    edited = tmp_path / "mine.yaml"
    edited.write_text(
        (HPARAMS / "w2v2_base.yaml")
        .read_text()
        .replace("data_folder: null", "data_folder: /data/librilight")
    )
    assert configured_value(edited, {}, "data_folder") == "/data/librilight"


def _rank_streams_after_resume(rank: int, world_size: int, folder: str) -> None:
    """One process of a gloo group: seed, checkpoint, draw, restore, draw again."""
    import torch.distributed as dist

    dist.init_process_group(
        "gloo", init_method=f"file://{folder}/store", rank=rank, world_size=world_size
    )
    try:
        state = RandomState(rank)
        random.seed(10 + rank), np.random.seed(10 + rank), torch.manual_seed(10 + rank)
        state.save(Path(folder) / "rng.ckpt")
        dist.barrier()
        expected = (random.random(), np.random.rand(), torch.rand(4).tolist())
        torch.manual_seed(99), random.seed(99), np.random.seed(99)
        state.load(Path(folder) / "rng.ckpt")
        resumed = (random.random(), np.random.rand(), torch.rand(4).tolist())
        torch.save({"expected": expected, "resumed": resumed}, f"{folder}/{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_random_state_restores_each_ranks_own_streams(tmp_path):
    import torch.multiprocessing as mp

    mp.spawn(_rank_streams_after_resume, args=(2, str(tmp_path)), nprocs=2)
    draws = [torch.load(tmp_path / f"{rank}.pt") for rank in range(2)]
    for rank_draws in draws:
        assert rank_draws["resumed"] == rank_draws["expected"]
    assert draws[0]["expected"] != draws[1]["expected"]
    assert len(torch.load(tmp_path / "rng.ckpt", weights_only=False)["ranks"]) == 2


def test_random_state_from_a_smaller_world_offsets_the_missing_ranks(tmp_path, caplog):
    torch.manual_seed(3)
    RandomState(0).save(tmp_path / "rng.ckpt")
    rank0_draw = torch.rand(3)
    RandomState(1).load(tmp_path / "rng.ckpt")
    assert "not for rank 1" in caplog.text
    assert not torch.equal(torch.rand(3), rank0_draw)


def test_random_state_loads_a_checkpoint_of_the_single_stream_format(tmp_path):
    from summarymixing.training.random_state import current_state

    torch.manual_seed(5)
    torch.save(current_state(), tmp_path / "rng.ckpt")
    expected = torch.rand(3)
    RandomState(0).load(tmp_path / "rng.ckpt")
    assert torch.equal(torch.rand(3), expected)


WATCHDOG_SCRIPT = """
import os, time, torch
from summarymixing.training import distributed
os.environ.update(RANK="1", LOCAL_RANK="1", WORLD_SIZE="2",
                  TORCHELASTIC_RESTART_COUNT="1")
torch.distributed.init_process_group = lambda **kwargs: time.sleep(600)
distributed.WATCHDOG_GRACE_S = 0.5
distributed.init_process_group("gloo", timeout_s=1)
"""


def test_a_group_that_never_forms_ends_the_process_with_the_message_in_time():
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-c", WATCHDOG_SCRIPT], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert time.time() - started < 60
    assert "error: rank 1 could not join the gloo process group within 1 s" in (
        result.stderr
    )
    assert "This is restart 1 of the job" in result.stderr
    assert "--standalone" in result.stderr and "Traceback" not in result.stderr


def test_the_deterministic_key_switches_torch_and_a_wrong_value_is_refused():
    base = HPARAMS / "w2v2_base.yaml"
    try:
        hparams = load_hyperpyyaml(base.read_text(), {"deterministic": True})
        assert hparams["deterministic"] is True
        assert torch.are_deterministic_algorithms_enabled()
        assert not torch.backends.cudnn.benchmark
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    finally:
        set_deterministic(False)
    assert not torch.are_deterministic_algorithms_enabled()
    defaults = plain_defaults(base.read_text())
    with pytest.raises(ValueError, match="deterministic must be true or false"):
        check_override_types({"deterministic": "maybe"}, defaults, base.name)


def test_compile_without_a_compiler_is_refused_naming_the_option(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(ValueError, match="--compile on CPU needs a C.. compiler"):
        parse_arguments(["h.yaml", "--compile", "--device", "cpu"])
    monkeypatch.undo()
    _, run_opts, _ = parse_arguments(["h.yaml", "--compile", "--device", "cpu"])
    assert run_opts["compile"] is True


def test_step_lines_end_with_the_time_left_from_the_mean_step_time(monkeypatch):
    clock = iter([0.0, 100.0, 100.0, 300.0, 300.0])  # start, each line and reset
    monkeypatch.setattr(
        "summarymixing.training.step_log.time.perf_counter", lambda: next(clock)
    )
    log = StepLog(interval=10)
    log.add_batch({"loss": torch.tensor(1.0)}, audio_seconds=1.0)
    first = log.maybe_emit(10, 1e-3, 0.5, step_limit=1000)
    # 100 s for the first 10 steps: 990 steps left at 10 s each
    assert first.endswith("| eta 2h45m")
    log.add_batch({"loss": torch.tensor(1.0)}, audio_seconds=1.0)
    second = log.maybe_emit(20, 1e-3, 0.5, step_limit=1000)
    # since the first line: 200 s for 10 steps, 980 steps left
    assert second.endswith("| eta 5h26m")
