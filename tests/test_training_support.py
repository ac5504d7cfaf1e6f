"""Training support: atomic checkpoints, non-finite guard, config and options."""

import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from speechbrain.utils.checkpoints import mark_as_saver, register_checkpoint_hooks

from summarymixing.training.checkpointer import AtomicCheckpointer
from summarymixing.training.config import merged_overrides
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
