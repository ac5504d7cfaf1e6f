"""Contract of the drop-in encoders: SpeechBrain parity, hidden states, layerdrop."""

import pytest
import torch
from speechbrain.lobes.models.transformer.Branchformer import (
    BranchformerEncoder as SBBranchformerEncoder,
)
from speechbrain.lobes.models.transformer.Conformer import (
    ConformerEncoder as SBConformerEncoder,
)
from speechbrain.nnet.attention import RelPosEncXL

from summarymixing.encoders import (
    ATTENTION_TYPES,
    BranchformerEncoder,
    ConformerEncoder,
)

D_MODEL = 16
MODES = ("SummaryMixing", "SummaryMixing-lite", "SummaryMixing-fast")


def conformer(**overrides):
    options = dict(num_layers=2, d_model=D_MODEL, d_ffn=32, nhead=2, kernel_size=5)
    options.update(overrides)
    return ConformerEncoder(**options)


def branchformer(**overrides):
    options = dict(
        num_layers=2, d_model=D_MODEL, nhead=2, kernel_size=5, csgu_linear_units=32
    )
    options.update(overrides)
    return BranchformerEncoder(**options)


def pos_embs_for(x):
    return RelPosEncXL(D_MODEL)(x)


@pytest.mark.parametrize("attention_type", ["regularMHA", "RelPosMHAXL"])
def test_conformer_is_speechbrains_model_for_attention(attention_type):
    torch.manual_seed(0)
    reference = SBConformerEncoder(
        2, D_MODEL, 32, 2, kernel_size=5, attention_type=attention_type
    ).eval()
    ours = conformer(attention_type=attention_type).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(3, 11, D_MODEL)
    pos = pos_embs_for(x) if attention_type == "RelPosMHAXL" else None
    expected, _ = reference(x, pos_embs=pos)
    got, _ = ours(x, pos_embs=pos)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_branchformer_keeps_speechbrains_parameters():
    # With kernel_size=1 no frame is padded by the convolution, so SpeechBrain's
    # reflection and our zero padding agree and the models must be identical.
    torch.manual_seed(0)
    reference = SBBranchformerEncoder(
        2, D_MODEL, 2, kernel_size=1, attention_type="regularMHA", csgu_linear_units=32
    ).eval()
    ours = branchformer(kernel_size=1, attention_type="regularMHA").eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 9, D_MODEL)
    torch.testing.assert_close(ours(x)[0], reference(x)[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("build", [conformer, branchformer])
@pytest.mark.parametrize("attention_type", ATTENTION_TYPES)
def test_every_attention_type_builds_and_runs(build, attention_type):
    torch.manual_seed(0)
    encoder = build(attention_type=attention_type)
    x = torch.randn(2, 7, D_MODEL)
    pos = pos_embs_for(x) if attention_type == "RelPosMHAXL" else None
    out, attention = encoder(x, pos_embs=pos)
    assert out.shape == x.shape
    assert len(attention) == 2
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("build", [conformer, branchformer])
def test_summary_mixing_keys_reach_the_layer(build):
    encoder = build(mode="SummaryMixing-fast", local_proj_out_dim=8, summary_out_dim=8)
    mixer = encoder.layers[0].mha_layer
    assert mixer.mode == "SummaryMixing-fast"
    assert mixer.local_out_dim == 8
    assert encoder.layers[1].mha_layer.summary_out_dim == 8


@pytest.mark.parametrize("build", [conformer, branchformer])
@pytest.mark.parametrize("layerdrop_prob", [0.0, 0.5, 1.0])
def test_hidden_states_always_number_layers_plus_one(build, layerdrop_prob):
    torch.manual_seed(0)
    encoder = build(output_hidden_states=True, layerdrop_prob=layerdrop_prob).train()
    x = torch.randn(2, 6, D_MODEL)
    for _ in range(5):
        _, attention, hidden = encoder(x)
        assert len(hidden) == 3
        assert len(attention) <= 2
    if layerdrop_prob == 1.0:
        for state in hidden:
            torch.testing.assert_close(state, x)


@pytest.mark.parametrize("build", [conformer, branchformer])
@pytest.mark.parametrize("attention_type", ["SummaryMixing", "regularMHA"])
@pytest.mark.parametrize("layerdrop_prob", [0.0, 1.0])
def test_every_parameter_gets_a_gradient(build, attention_type, layerdrop_prob):
    # DDP needs a gradient for every parameter, even for a layer layerdrop skipped.
    torch.manual_seed(0)
    encoder = build(attention_type=attention_type, layerdrop_prob=layerdrop_prob)
    encoder.train()
    out, _ = encoder(torch.randn(2, 6, D_MODEL, requires_grad=True))
    out.sum().backward()
    missing = [name for name, p in encoder.named_parameters() if p.grad is None]
    assert missing == []
    if layerdrop_prob == 1.0:
        assert all(
            (p.grad == 0).all() for n, p in encoder.named_parameters() if "layers" in n
        )


@pytest.mark.parametrize("mode", MODES)
def test_no_unused_parameters_in_any_mode(mode):
    torch.manual_seed(0)
    encoder = conformer(mode=mode, dropout=0.1).train()
    out, _ = encoder(torch.randn(2, 6, D_MODEL))
    out.sum().backward()
    assert [n for n, p in encoder.named_parameters() if p.grad is None] == []


@pytest.mark.parametrize("build", [conformer, branchformer])
def test_padded_output_frames_are_zero(build):
    torch.manual_seed(0)
    encoder = build(output_hidden_states=True).eval()
    mask = torch.arange(8)[None] >= torch.tensor([[8], [5]])
    out, _, hidden = encoder(torch.randn(2, 8, D_MODEL), src_key_padding_mask=mask)
    for tensor in [out, *hidden]:
        assert (tensor[1, 5:] == 0).all()
        assert (tensor[1, :5] != 0).any()


@pytest.mark.parametrize("build", [conformer, branchformer])
def test_eval_mode_ignores_layerdrop(build):
    torch.manual_seed(0)
    encoder = build(layerdrop_prob=1.0).eval()
    x = torch.randn(1, 6, D_MODEL)
    out, attention = encoder(x)
    assert len(attention) == 2
    assert not torch.allclose(out, encoder.norm(x))
