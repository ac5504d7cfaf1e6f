"""Two optimisers (probe, layer weights) with NewBob, alone and inside a Brain."""

from pathlib import Path

import pytest
import speechbrain as sb
import torch
import torch.nn.functional as F
from speechbrain.utils.checkpoints import Checkpointer
from speechbrain.utils.epoch_loop import EpochCounter
from torch.utils.data import DataLoader, TensorDataset

from summarymixing import ConformerEncoder
from summarymixing.export import PretrainedEncoder
from summarymixing.mp3s import (
    MeanPoolLinearProbe,
    WeightedLayerFeatures,
    build_probe_optimisers,
)
from summarymixing.wav2vec2 import FbankConvFrontEnd, W2V2EncoderWrapper


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny models run faster on one thread, and much faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_features() -> WeightedLayerFeatures:
    torch.manual_seed(0)
    encoder = ConformerEncoder(2, 32, 64, 2, output_hidden_states=True)
    upstream = PretrainedEncoder(
        FbankConvFrontEnd(out_channels=16), W2V2EncoderWrapper(16, 32, encoder), {}
    )
    return WeightedLayerFeatures(upstream)


def test_two_optimisers_hold_disjoint_parameters_at_their_rates():
    features = tiny_features()
    probe = MeanPoolLinearProbe(32, 3)
    optimisers = build_probe_optimisers(features, probe)
    probe_group = optimisers.probe.param_groups[0]
    weights_group = optimisers.layer_weights.param_groups[0]
    assert probe_group["lr"] == 2e-4 and weights_group["lr"] == 0.01
    assert [id(p) for p in probe_group["params"]] == [id(p) for p in probe.parameters()]
    assert weights_group["params"] == [features.weights]
    upstream_ids = {id(p) for p in features.upstream.parameters()}
    held = [id(p) for group in (probe_group, weights_group) for p in group["params"]]
    assert upstream_ids.isdisjoint(held)
    assert isinstance(optimisers.probe, torch.optim.Adam)
    assert set(optimisers.as_dict()) == {"probe", "layer_weights"}


def test_newbob_annealing_of_both_rates():
    optimisers = build_probe_optimisers(tiny_features(), MeanPoolLinearProbe(32, 3))
    assert optimisers.anneal(10.0) == (2e-4, 0.01)  # first epoch: no history
    assert optimisers.anneal(5.0) == (2e-4, 0.01)  # improved by 50 %
    probe_lr, weights_lr = optimisers.anneal(4.999)  # improved by 0.02 % < 0.25 %
    assert probe_lr == pytest.approx(2e-4 * 0.8)
    assert weights_lr == pytest.approx(0.01 * 0.9)
    assert optimisers.probe.param_groups[0]["lr"] == pytest.approx(2e-4 * 0.8)
    assert optimisers.layer_weights.param_groups[0]["lr"] == pytest.approx(0.009)


def test_probe_without_trainable_parameters_is_an_error():
    probe = MeanPoolLinearProbe(32, 3).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameter"):
        build_probe_optimisers(tiny_features(), probe)


def test_checkpointer_restores_rates_and_annealing_history(tmp_path: Path):
    features, probe = tiny_features(), MeanPoolLinearProbe(32, 3)
    optimisers = build_probe_optimisers(features, probe)
    optimisers.anneal(1.0)
    optimisers.anneal(1.0)
    Checkpointer(tmp_path, optimisers.recoverables()).save_checkpoint()
    restored = build_probe_optimisers(features, probe)
    Checkpointer(tmp_path, restored.recoverables()).recover_if_possible()
    assert restored.probe.param_groups[0]["lr"] == pytest.approx(1.6e-4)
    assert restored.weights_annealing.metric_values == [1.0, 1.0]
    assert restored.anneal(1.0) == optimisers.anneal(1.0)


class ProbeBrain(sb.Brain):
    """The shape an MP3S recipe takes: two optimisers through optimizers_dict."""

    def init_optimizers(self):
        self.optimisers = build_probe_optimisers(
            self.modules.features, self.modules.probe, probe_lr=1e-2
        )
        self.optimizers_dict = self.optimisers.as_dict()
        self.upstream_modes = []

    def compute_forward(self, batch, stage):
        wavs, lens, _ = batch
        self.upstream_modes.append(self.modules.features.upstream.training)
        return self.modules.probe(*self.modules.features(wavs, lens))

    def compute_objectives(self, predictions, batch, stage):
        return F.cross_entropy(predictions, batch[2])

    def on_stage_end(self, stage, stage_loss, epoch=None):
        if stage == sb.Stage.VALID:
            self.optimisers.anneal(stage_loss)


def test_brain_steps_both_optimisers_and_never_the_upstream():
    features = tiny_features()
    upstream_before = {k: v.clone() for k, v in features.upstream.state_dict().items()}
    probe = MeanPoolLinearProbe(32, 2)
    probe_before = probe.output.weight.detach().clone()
    generator = torch.Generator().manual_seed(0)
    data = TensorDataset(
        0.1 * torch.randn(4, 4000, generator=generator),
        torch.tensor([1.0, 0.75, 1.0, 0.5]),
        torch.tensor([0, 1, 0, 1]),
    )
    brain = ProbeBrain(
        modules={"features": features, "probe": probe},
        run_opts={"device": "cpu"},
    )
    loader = DataLoader(data, batch_size=2)
    brain.fit(EpochCounter(2), loader, loader)
    assert brain.upstream_modes and not any(brain.upstream_modes)
    assert not torch.allclose(features.layer_weights(), torch.full((3,), 1 / 3))
    assert not torch.equal(probe.output.weight, probe_before)
    assert len(brain.optimisers.probe_annealing.metric_values) == 2
    for name, value in features.upstream.state_dict().items():
        assert torch.equal(value, upstream_before[name]), name
