"""Formats other toolkits load: safetensors, a Hugging Face-style folder, s3prl."""

import json
import math
import shutil

import pytest
import torch
from safetensors import safe_open
from test_export_baselines import PRETRAINING, TINY, export_trained

from summarymixing.export import SummaryMixingW2V2Model, export_untrained, load_encoder
from summarymixing.export.s3prl_upstream import UpstreamExpert
from summarymixing.mp3s.upstream.loading import upstream_from_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return export_trained(tmp_path_factory.mktemp("export") / "encoder")


def waves(*seconds: float) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return [torch.randn(int(16000 * s), generator=generator) for s in seconds]


def test_weights_are_plain_safetensors(folder):
    model = load_encoder(folder)
    with safe_open(str(folder / "model.safetensors"), framework="pt") as weights:
        names = set(weights.keys())
        assert weights.metadata()["format"] == "summarymixing-w2v2-encoder"
        for name, value in model.state_dict().items():
            if name in names:
                assert torch.equal(weights.get_tensor(name), value), name
    assert {name.split(".")[0] for name in names} == {"frontend", "encoder_wrapper"}


def test_config_json_and_safetensors_alone_rebuild_the_model(folder, tmp_path):
    copy = tmp_path / "hub"
    copy.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(folder / name, copy / name)
    config = json.loads((copy / "config.json").read_text())
    assert config["model_type"] == "summarymixing_w2v2"
    assert config["num_hidden_layers"] == TINY["num_layers"]
    assert config["hidden_size"] == TINY["d_model"]
    assert config["inputs_to_logits_ratio"] == 320
    model = SummaryMixingW2V2Model.from_pretrained(copy)
    reference = load_encoder(folder)
    assert not model.training

    first, second = waves(1.0, 0.6)
    batch = torch.stack([first, torch.cat([second, torch.zeros(6400)])])
    mask = torch.zeros_like(batch, dtype=torch.long)
    mask[0, :] = 1
    mask[1, : len(second)] = 1
    output = model(batch, attention_mask=mask)
    assert len(output.hidden_states) == TINY["num_layers"] + 1
    assert output.last_hidden_state is output.hidden_states[-1]
    for index, wav in enumerate([first, second]):
        alone, _ = reference(wav[None], torch.ones(1))
        frames = alone[0].shape[1]
        assert not output.padding_mask[index, :frames].any()
        assert output.padding_mask[index, frames:].all()
        for state, expected in zip(output.hidden_states, alone, strict=True):
            torch.testing.assert_close(state[index, :frames], expected[0])
            assert not state[index, frames:].any()
    # an MP3S upstream from the same two files
    states, _ = upstream_from_folder(copy)(first[None], torch.ones(1))
    torch.testing.assert_close(states[-1], reference(first[None], torch.ones(1))[0][-1])


def test_hf_style_folders_of_other_models_are_named(folder, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "wav2vec2"}))
    with pytest.raises(ValueError, match="describes a 'wav2vec2' model, not a"):
        SummaryMixingW2V2Model.from_pretrained(other)
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    shutil.copy(folder / "config.json", wrong / "config.json")
    smaller = export_untrained(tmp_path / "s", PRETRAINING, {**TINY, "d_ffn": 48}, 0)
    shutil.copy(smaller / "model.safetensors", wrong / "model.safetensors")
    with pytest.raises(ValueError, match="the weights come from another model"):
        SummaryMixingW2V2Model.from_pretrained(wrong)


class S3PRLFeaturizerStandIn:
    """What s3prl's Featurizer does with an upstream's output, as far as it
    constrains the upstream: every layer the same (B, T, D) padded shape, and
    frame counts derived from ``get_downsample_rates`` within 3 frames of the
    real ones (s3prl's TOLERABLE_SEQLEN_DIFF); then a weighted sum of layers.
    """

    tolerance = 3

    def __init__(self, upstream):
        self.upstream = upstream
        self.rate = upstream.get_downsample_rates("hidden_states")

    def __call__(self, wavs):
        states = self.upstream(wavs)["hidden_states"]
        assert isinstance(states, list) and len({s.shape for s in states}) == 1
        lengths = [math.ceil(len(wav) / self.rate) for wav in wavs]
        assert abs(max(lengths) - states[0].shape[1]) <= self.tolerance
        weights = torch.softmax(torch.zeros(len(states)), dim=0)
        return sum(w * s for w, s in zip(weights, states, strict=True)), lengths


def test_s3prl_upstream_interface_is_padding_exact(folder):
    upstream = UpstreamExpert(str(folder), model_config=None, unused_option=1)
    assert upstream.get_downsample_rates("hidden_states") == 320
    featurizer = S3PRLFeaturizerStandIn(upstream.eval())
    wavs = waves(1.3, 0.7, 1.0)
    features, lengths = featurizer(wavs)
    out = upstream(wavs)
    assert torch.equal(out["last_hidden_state"], out["hidden_states"][-1])
    for index, wav in enumerate(wavs):
        alone = upstream([wav])["hidden_states"]
        frames = alone[0].shape[1]
        assert abs(frames - lengths[index]) <= 1
        for state, expected in zip(out["hidden_states"], alone, strict=True):
            torch.testing.assert_close(state[index, :frames], expected[0])
            assert not state[index, frames:].any()
        assert features.shape[0] == len(wavs)
    # layerdrop stays off even when s3prl trains the upstream
    upstream.train()
    assert len(upstream(wavs)["hidden_states"]) == TINY["num_layers"] + 1
