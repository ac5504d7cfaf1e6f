"""An update whose every batch had a non-finite loss moves nothing."""

from pathlib import Path

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.dataio.batch import PaddedBatch

from summarymixing.training.config import load_yaml, merged_overrides
from summarymixing.training.pretrain_brain import PretrainBrain

HPARAMS = Path(__file__).resolve().parents[1] / "hparams"
TINY = load_yaml(
    """{latent_dim: 32, d_model: 32, num_layers: 2, d_ffn: 64, nhead: 2,
    kernel_size: 7, local_proj_hid_dim: [32], local_proj_out_dim: 32,
    summary_hid_dim: [32], summary_out_dim: 32, codebook_size: 16,
    target_dim: 16, num_distractors: 10, warmup_steps: 10, precision: fp32,
    weight_decay: 0.01, quality_monitor: false, grad_accumulation_factor: 2}"""
)


@pytest.fixture
def brain(tmp_path):
    overrides = {**TINY, "data_folder": str(tmp_path), "output_folder": str(tmp_path)}
    base, overrides = merged_overrides(HPARAMS / "w2v2_summarymixing.yaml", overrides)
    with base.open() as stream:
        hparams = load_hyperpyyaml(stream, overrides)
    torch.manual_seed(0)
    brain = PretrainBrain(
        modules=hparams["modules"],
        opt_class=hparams["optimizer"],
        hparams=hparams,
        run_opts={"device": "cpu"},
    )
    brain.init_optimizers()
    return brain


def batch(seed: int, corrupt: bool = False) -> PaddedBatch:
    generator = torch.Generator().manual_seed(seed)
    examples = []
    for index in range(2):
        signal = 0.1 * torch.randn(16000 * 2, generator=generator)
        if corrupt:
            signal[100] = float("nan")
        examples.append({"id": f"b{seed}u{index}", "sig": signal})
    return PaddedBatch(examples)


def feed(brain: PretrainBrain, padded: PaddedBatch) -> None:
    """One training batch, counted as SpeechBrain's fit loop counts it."""
    brain.step += 1
    brain.fit_batch(padded)


def snapshot(brain: PretrainBrain) -> list[torch.Tensor]:
    return [p.detach().clone() for p in brain.modules.parameters()]


def test_an_update_of_only_skipped_batches_takes_no_step(brain):
    quantiser = brain.modules.pretrainer.quantiser
    for seed in (1, 2):  # one finite update first: AdamW has moments now
        feed(brain, batch(seed))
    assert brain.optimizer_step == 1
    before, lr = snapshot(brain), brain.optimizer.param_groups[0]["lr"]
    temperature = quantiser.temperature
    for seed in (3, 4):  # two accumulated batches, both non-finite
        feed(brain, batch(seed, corrupt=True))
    assert brain.guard.skipped == 2
    assert brain.optimizer_step == 1
    assert brain.optimizer.param_groups[0]["lr"] == lr
    assert quantiser.temperature == temperature
    for old, new in zip(before, snapshot(brain), strict=True):
        assert torch.equal(old, new)
    assert all(p.grad is None for p in brain.modules.parameters())


def test_one_finite_batch_in_the_update_still_steps(brain):
    before = snapshot(brain)
    feed(brain, batch(5, corrupt=True))
    feed(brain, batch(6))
    assert brain.optimizer_step == 1
    changed = [
        not torch.equal(a, b) for a, b in zip(before, snapshot(brain), strict=True)
    ]
    assert any(changed)
