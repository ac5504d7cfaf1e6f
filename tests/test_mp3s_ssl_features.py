"""Frozen upstream + learned layer weights, upstream loading, and a tiny overfit."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from summarymixing import ConformerEncoder
from summarymixing.export import PretrainedEncoder, export_encoder
from summarymixing.mp3s import (
    BiLSTMCTCProbe,
    CharacterTokenizer,
    HuggingFaceWav2Vec2Upstream,
    WeightedLayerFeatures,
    build_probe_optimisers,
    count_hidden_states,
    ctc_greedy_decode,
    ctc_loss,
    upstream_from_folder,
)
from summarymixing.mp3s.upstream.loading import conv_output_frames
from summarymixing.wav2vec2 import FbankConvFrontEnd, W2V2EncoderWrapper

MODEL_YAML = """\
frontend: !new:summarymixing.wav2vec2.FbankConvFrontEnd
    out_channels: 16
encoder_wrapper: !new:summarymixing.wav2vec2.W2V2EncoderWrapper
    latent_dim: 16
    d_model: 32
    encoder: !new:summarymixing.ConformerEncoder
        num_layers: 2
        d_model: 32
        d_ffn: 64
        nhead: 2
        output_hidden_states: True
"""


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny models run faster on one thread, and much faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_upstream(seed: int = 0, description: dict | None = None) -> PretrainedEncoder:
    """A random 2-layer SummaryMixing encoder returning 3 hidden states."""
    torch.manual_seed(seed)
    encoder = ConformerEncoder(2, 32, 64, 2, output_hidden_states=True)
    return PretrainedEncoder(
        FbankConvFrontEnd(out_channels=16),
        W2V2EncoderWrapper(16, 32, encoder),
        {} if description is None else description,
    )


def padded_batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two waveforms of 0.5 s and 0.3 s, zero-padded."""
    generator = torch.Generator().manual_seed(seed)
    wavs = 0.1 * torch.randn(2, 8000, generator=generator)
    wavs[1, 4800:] = 0.0
    return wavs, torch.tensor([1.0, 0.6])


def test_weights_start_uniform_and_sum_to_one():
    features = WeightedLayerFeatures(tiny_upstream())
    assert features.num_hidden_states == 3
    weights = features.layer_weights()
    assert torch.allclose(weights, torch.full((3,), 1 / 3))
    with torch.no_grad():
        features.weights.copy_(torch.tensor([2.0, -1.0, 0.5]))
    assert features.layer_weights().sum().item() == pytest.approx(1.0, abs=1e-6)
    assert bool((features.layer_weights() > 0).all())


def test_output_is_the_weighted_sum_of_hidden_states():
    upstream = tiny_upstream()
    features = WeightedLayerFeatures(upstream).eval()
    with torch.no_grad():
        features.weights.copy_(torch.tensor([0.3, -0.7, 1.1]))
    wavs, lens = padded_batch()
    output, padding = features(wavs, lens)
    states, expected_padding = upstream(wavs, lens)
    weights = torch.softmax(torch.tensor([0.3, -0.7, 1.1]), dim=0)
    expected = sum(w * s for w, s in zip(weights, states, strict=True))
    expected = expected.masked_fill(expected_padding.unsqueeze(-1), 0.0)
    assert torch.equal(padding, expected_padding)
    assert torch.allclose(output, expected, atol=1e-6)
    assert output[padding].abs().sum().item() == 0.0


def test_layer_norm_option_normalises_each_state():
    features = WeightedLayerFeatures(tiny_upstream(), layer_norm=True).eval()
    output, padding = features(*padded_batch())
    real = output[~padding]
    # A convex combination of zero-mean frames is zero-mean.
    assert real.mean(dim=-1).abs().max().item() < 1e-5


def test_layer_weights_receive_gradients_and_upstream_none():
    upstream = tiny_upstream()
    features = WeightedLayerFeatures(upstream).train()
    output, padding = features(*padded_batch())
    (output[~padding] ** 2).mean().backward()
    assert features.weights.grad is not None
    assert features.weights.grad.abs().sum().item() > 0
    assert all(p.grad is None and not p.requires_grad for p in upstream.parameters())


def test_the_mixer_alone_holds_the_trainable_state():
    features = WeightedLayerFeatures(tiny_upstream())
    trainable = [name for name, p in features.named_parameters() if p.requires_grad]
    assert trainable == ["mixer.weights"]
    assert list(features.mixer.state_dict()) == ["weights"]
    assert features.weights is features.mixer.weights


def test_upstream_stays_in_eval_mode_when_the_wrapper_trains():
    upstream = tiny_upstream()
    features = WeightedLayerFeatures(upstream)
    features.train()
    assert features.training
    assert not any(module.training for module in upstream.modules())
    features.eval().train(True)
    assert not any(module.training for module in upstream.modules())


def test_frozen_features_are_deterministic_in_train_mode():
    features = WeightedLayerFeatures(tiny_upstream()).train()
    wavs, lens = padded_batch()
    first, _ = features(wavs, lens)
    second, _ = features(wavs, lens)
    assert torch.equal(first, second)


def test_count_hidden_states_prefers_the_exported_description():
    assert count_hidden_states(tiny_upstream(description={"num_hidden_states": 7})) == 7
    assert count_hidden_states(tiny_upstream()) == 3


def test_wrong_number_of_weights_is_a_clear_error():
    features = WeightedLayerFeatures(tiny_upstream(), num_hidden_states=5)
    with pytest.raises(ValueError, match="returned 3 hidden states but 5"):
        features(*padded_batch())


def test_exported_folder_loads_as_the_same_upstream(tmp_path: Path):
    base_yaml = tmp_path / "model.yaml"
    base_yaml.write_text(MODEL_YAML)
    upstream = tiny_upstream(seed=3).eval()
    folder = export_encoder(
        tmp_path / "encoder",
        base_yaml,
        {},
        upstream.frontend,
        upstream.encoder_wrapper,
        {"num_hidden_states": 3},
    )
    loaded = upstream_from_folder(folder)
    assert isinstance(loaded, PretrainedEncoder) and not loaded.training
    wavs, lens = padded_batch()
    expected, padding = upstream(wavs, lens)
    states, loaded_padding = loaded(wavs, lens)
    assert torch.equal(padding, loaded_padding)
    for state, reference in zip(states, expected, strict=True):
        assert torch.allclose(state, reference, atol=1e-6)
    assert WeightedLayerFeatures(loaded).num_hidden_states == 3


def test_folder_errors_name_the_folder_and_what_was_expected(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        upstream_from_folder(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ValueError, match=r"expected encoder\.json .*notes\.txt"):
        upstream_from_folder(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "encoder.json").write_text(json.dumps({"format": "someone-else"}))
    with pytest.raises(ValueError, match="someone-else"):
        upstream_from_folder(other)


def test_hugging_face_folder_checks(tmp_path: Path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "wav2vec2"}))
    with pytest.raises(FileNotFoundError, match="preprocessor_config.json"):
        upstream_from_folder(tmp_path)
    (tmp_path / "preprocessor_config.json").write_text("{}")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match="'bert' model"):
        upstream_from_folder(tmp_path)


def test_conv_output_frames_match_wav2vec2_base():
    kernels, strides = [10, 3, 3, 3, 3, 2, 2], [5, 2, 2, 2, 2, 2, 2]
    # 16 kHz with a 20 ms hop and a 25 ms receptive field: 1 s gives 49 frames.
    samples = torch.tensor([16000, 32000, 399, 400])
    assert conv_output_frames(samples, kernels, strides).tolist() == [49, 99, 0, 1]


def _save_tiny_hugging_face_model(folder: Path) -> None:
    """A random 2-layer Hugging Face wav2vec 2.0 saved like a hub download."""
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    config = Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16, 16),
        conv_kernel=(10, 3),
        conv_stride=(5, 2),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    torch.manual_seed(0)
    Wav2Vec2Model(config).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(do_normalize=True).save_pretrained(folder)


def test_local_hugging_face_wav2vec2(tmp_path: Path):
    """With transformers: all hidden states and the mask; without: a clear error."""
    if importlib.util.find_spec("transformers") is None:
        (tmp_path / "config.json").write_text(
            json.dumps({"model_type": "wav2vec2", "num_hidden_layers": 2})
        )
        (tmp_path / "preprocessor_config.json").write_text("{}")
        with pytest.raises(ImportError, match="pip install transformers") as error:
            upstream_from_folder(tmp_path)
        assert str(tmp_path) in str(error.value)
        return
    _save_tiny_hugging_face_model(tmp_path)
    upstream = upstream_from_folder(tmp_path)
    assert isinstance(upstream, HuggingFaceWav2Vec2Upstream)
    wavs = 0.1 * torch.randn(2, 4000)
    states, padding = upstream(wavs, torch.tensor([1.0, 0.5]))
    frames = conv_output_frames(torch.tensor([4000, 2000]), [10, 3], [5, 2])
    assert len(states) == 3
    assert states[0].shape == (2, padding.shape[1], 32)
    assert (~padding).sum(dim=1).tolist() == frames.tolist()
    features = WeightedLayerFeatures(upstream)
    output, _ = features(wavs, torch.tensor([1.0, 0.5]))
    assert features.num_hidden_states == 3 and output.shape == states[0].shape


def test_bilstm_ctc_probe_overfits_a_fixed_target_on_a_frozen_encoder():
    """A frozen random encoder + BiLSTM probe learns to emit "abc" in 100 steps."""
    upstream = tiny_upstream(seed=1)
    frozen = {name: p.clone() for name, p in upstream.state_dict().items()}
    features = WeightedLayerFeatures(upstream)
    torch.manual_seed(1986)
    tokenizer = CharacterTokenizer.from_transcripts(["abc"])
    probe = BiLSTMCTCProbe(32, tokenizer.vocab_size, hidden_size=32)
    optimisers = build_probe_optimisers(features, probe, probe_lr=5e-3)
    wavs, lens = padded_batch(seed=5)
    targets = torch.tensor([tokenizer.encode("abc")] * 2)
    target_lengths = torch.tensor([3, 3])
    losses = []
    features.train()
    probe.train()
    for _ in range(100):
        optimisers.zero_grad()
        frames, padding = features(wavs, lens)
        loss = ctc_loss(probe(frames, padding), padding, targets, target_lengths)
        loss.backward()
        optimisers.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    probe.eval()
    with torch.no_grad():
        frames, padding = features(wavs, lens)
        decoded = ctc_greedy_decode(probe(frames, padding), padding)
    assert [tokenizer.decode(ids) for ids in decoded] == ["abc", "abc"]
    assert not torch.allclose(features.layer_weights(), torch.full((3,), 1 / 3))
    for name, value in upstream.state_dict().items():
        assert torch.equal(value, frozen[name]), name
