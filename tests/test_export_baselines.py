"""Encoder folders of every kind: pre-trained, untrained and FBANK baselines."""

import json
from itertools import pairwise
from pathlib import Path

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml

from summarymixing.export import (
    FbankUpstream,
    PretrainedEncoder,
    export_encoder,
    export_fbank_baseline,
    export_untrained,
    export_untrained_like,
    load_encoder,
    model_yaml,
    read_encoder_json,
)
from summarymixing.mp3s.run.tasks import load_upstream
from summarymixing.mp3s.upstream.weighted_layers import count_hidden_states
from summarymixing.training.config import merged_overrides

ROOT = Path(__file__).resolve().parents[1]
PRETRAINING = ROOT / "hparams" / "w2v2_summarymixing.yaml"
TINY = {
    "latent_dim": 16,
    "d_model": 32,
    "num_layers": 2,
    "d_ffn": 64,
    "nhead": 2,
    "kernel_size": 7,
    "local_proj_hid_dim": [32],
    "local_proj_out_dim": 32,
    "summary_hid_dim": [32],
    "summary_out_dim": 32,
    "codebook_size": 16,
    "target_dim": 16,
}


def weights(folder: Path) -> dict[str, torch.Tensor]:
    model = load_encoder(folder)
    return {
        f"{part}.{key}": value
        for part in ("frontend", "encoder_wrapper")
        for key, value in getattr(model, part).state_dict().items()
    }


def same_weights(a: dict, b: dict) -> bool:
    assert a.keys() == b.keys()
    return all(torch.equal(a[key], b[key]) for key in a)


def export_trained(folder: Path) -> Path:
    """A 'pre-trained' tiny encoder: built from the YAML, then moved away."""
    base, overrides = merged_overrides(PRETRAINING, TINY)
    modules = load_hyperpyyaml(model_yaml(base, overrides))
    with torch.no_grad():
        for module in (modules["frontend"], modules["encoder_wrapper"]):
            for parameter in module.parameters():
                parameter.add_(0.01)
    return export_encoder(
        folder,
        base,
        overrides,
        modules["frontend"],
        modules["encoder_wrapper"],
        {"num_hidden_states": 3, "optimizer_steps": 100},
    )


def hidden_states(model, seconds: float = 1.0) -> list[torch.Tensor]:
    wav = torch.randn(
        1, int(16000 * seconds), generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        states, _ = model(wav, torch.ones(1))
    return states


def test_fbank_folder_round_trip(tmp_path):
    folder = export_fbank_baseline(tmp_path / "fbank")
    meta = json.loads((folder / "encoder.json").read_text())
    assert meta["kind"] == "fbank" and meta["num_hidden_states"] == 1
    assert meta["frame_rate_hz"] == 100.0
    model = load_encoder(folder)
    assert isinstance(model, FbankUpstream) and not model.training
    assert model.description == meta
    for upstream in (model, load_upstream(folder)):
        assert count_hidden_states(upstream) == 1
    (features,), padding = model(torch.randn(2, 8000), torch.tensor([1.0, 0.5]))
    assert features.shape == (2, 51, 80) and (~padding).sum(1).tolist() == [51, 26]


def test_untrained_from_yaml_is_seeded_and_loads_in_eval_mode(tmp_path):
    state = torch.random.get_rng_state()
    first = export_untrained(tmp_path / "a", PRETRAINING, TINY, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)  # caller's RNG kept
    again = export_untrained(tmp_path / "b", PRETRAINING, TINY, seed=3)
    other = export_untrained(tmp_path / "c", PRETRAINING, TINY, seed=4)
    assert same_weights(weights(first), weights(again))
    assert not same_weights(weights(first), weights(other))
    meta = read_encoder_json(first)
    assert meta["kind"] == "untrained" and meta["optimizer_steps"] == 0
    assert meta["seed"] == 3 and meta["source"] == str(PRETRAINING.resolve())
    assert meta["num_hidden_states"] == 3 and meta["d_model"] == 32
    assert meta["attention_type"] == "SummaryMixing"
    model = load_encoder(first)
    assert isinstance(model, PretrainedEncoder)
    assert not any(module.training for module in model.modules())
    assert len(hidden_states(model)) == 3


def test_untrained_with_the_pretraining_seed_is_its_initial_state(tmp_path):
    folder = export_untrained(tmp_path / "untrained", PRETRAINING, TINY, seed=1986)
    base, overrides = merged_overrides(PRETRAINING, {**TINY, "seed": 1986})
    with open(base) as stream:
        hparams = load_hyperpyyaml(stream, overrides)  # applies its own seed
    initial = {
        f"{part}.{key}": value
        for part in ("frontend", "encoder_wrapper")
        for key, value in hparams[part].state_dict().items()
    }
    assert same_weights(weights(folder), initial)


def test_untrained_like_copies_the_architecture_not_the_weights(tmp_path):
    trained = export_trained(tmp_path / "trained")
    first = export_untrained_like(trained, tmp_path / "u1", seed=5)
    again = export_untrained_like(trained, tmp_path / "u2", seed=5)
    assert (first / "hyperparams.yaml").read_text() == (
        trained / "hyperparams.yaml"
    ).read_text()
    trained_weights, untrained = weights(trained), weights(first)
    assert {k: v.shape for k, v in trained_weights.items()} == {
        k: v.shape for k, v in untrained.items()
    }
    assert not same_weights(trained_weights, untrained)
    assert same_weights(untrained, weights(again))
    meta = read_encoder_json(first)
    assert meta["kind"] == "untrained" and meta["optimizer_steps"] == 0
    assert meta["seed"] == 5 and meta["source"] == str(trained.resolve())
    assert meta["num_hidden_states"] == 3
    assert read_encoder_json(trained)["kind"] == "pretrained"


def test_untrained_like_refuses_fbank_and_its_own_folder(tmp_path):
    fbank = export_fbank_baseline(tmp_path / "fbank")
    with pytest.raises(ValueError, match="is the FBANK baseline: it has no encoder"):
        export_untrained_like(fbank, tmp_path / "u", seed=0)
    trained = export_trained(tmp_path / "trained")
    with pytest.raises(ValueError, match="would overwrite"):
        export_untrained_like(trained, trained, seed=0)
    with pytest.raises(FileNotFoundError, match="no encoder.json"):
        export_untrained_like(tmp_path, tmp_path / "u", seed=0)
    assert not (tmp_path / "u").exists()


def test_a_version_1_folder_without_kind_loads_as_pretrained(tmp_path):
    folder = export_trained(tmp_path / "old")
    exported = load_encoder(folder)
    # what exports wrote before: torch.save weights, format 1, no kind field
    for name in ("frontend", "encoder_wrapper"):
        torch.save(getattr(exported, name).state_dict(), folder / f"{name}.ckpt")
    (folder / "model.safetensors").unlink()
    meta = json.loads((folder / "encoder.json").read_text())
    del meta["kind"]
    (folder / "encoder.json").write_text(json.dumps(meta | {"format_version": 1}))
    model = load_encoder(folder)
    assert isinstance(model, PretrainedEncoder)
    assert model.description["kind"] == "pretrained"
    saved = torch.load(folder / "encoder_wrapper.ckpt")
    assert same_weights(model.encoder_wrapper.state_dict(), saved)
    # exporting again over it leaves one set of weights, the new format
    export_trained(folder)
    assert sorted(path.name for path in folder.iterdir()) == [
        "config.json",
        "encoder.json",
        "hyperparams.yaml",
        "model.safetensors",
    ]


def test_an_unknown_kind_is_named(tmp_path):
    folder = export_fbank_baseline(tmp_path / "fbank")
    meta = json.loads((folder / "encoder.json").read_text())
    (folder / "encoder.json").write_text(json.dumps(meta | {"kind": "mfcc"}))
    with pytest.raises(ValueError, match="kind 'mfcc'; known kinds: pretrained"):
        load_encoder(folder)


def test_loaded_encoders_never_drop_layers(tmp_path):
    folder = export_untrained(
        tmp_path / "u", PRETRAINING, {**TINY, "layerdrop_prob": 1.0}, seed=0
    )
    model = load_encoder(folder)
    assert not any(module.training for module in model.modules())
    states = hidden_states(model)
    assert len(states) == 3
    for before, after in pairwise(states):
        assert not torch.allclose(before, after)
    for before, after in zip(states, hidden_states(model), strict=True):
        assert torch.equal(before, after)
    # layerdrop stays off in train mode too (a toolkit fine-tuning its
    # upstream): with 1.0 every layer would be skipped, all states equal
    training = hidden_states(model.train())
    assert model.training
    for before, after in pairwise(training):
        assert not torch.allclose(before, after)
