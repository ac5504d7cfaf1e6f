"""The fused (SDPA) attention is regularMHA's attention, computed another way."""

import pytest
import torch
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig

from summarymixing.encoders import BranchformerEncoder, ConformerEncoder
from summarymixing.encoders.mixer import build_mixer
from summarymixing.layers.fused_attention import FusedSelfAttention

D_MODEL = 16


def regular_weights_as_fused(state: dict) -> dict:
    """regularMHA's parameter names (nn.MultiheadAttention inside) as ours."""
    renamed = {}
    for key, value in state.items():
        key = key.replace("mha_layer.att.in_proj_weight", "mha_layer.in_proj.weight")
        key = key.replace("mha_layer.att.in_proj_bias", "mha_layer.in_proj.bias")
        renamed[key.replace("mha_layer.att.out_proj", "mha_layer.out_proj")] = value
    return renamed


def batch(lengths=(13, 7, 1)):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(len(lengths), max(lengths), D_MODEL, generator=generator)
    mask = torch.arange(max(lengths))[None] >= torch.tensor(lengths)[:, None]
    return x, mask


def encoders(encoder_class, **options):
    torch.manual_seed(0)
    if encoder_class is BranchformerEncoder:
        options["csgu_linear_units"] = 32
    else:
        options["d_ffn"] = 32
    regular = encoder_class(
        num_layers=2, d_model=D_MODEL, nhead=2, attention_type="regularMHA", **options
    )
    fused = encoder_class(
        num_layers=2, d_model=D_MODEL, nhead=2, attention_type="SDPA", **options
    )
    fused.load_state_dict(regular_weights_as_fused(regular.state_dict()), strict=True)
    return regular, fused


@pytest.mark.parametrize(
    "encoder_class, chunked",
    [(ConformerEncoder, False), (ConformerEncoder, True), (BranchformerEncoder, False)],
)
def test_sdpa_encoder_equals_the_regular_mha_encoder_with_the_same_weights(
    encoder_class, chunked
):
    regular, fused = encoders(encoder_class, kernel_size=7)
    x, mask = batch()
    kwargs = {"src_key_padding_mask": mask}
    if chunked:  # 4-frame chunks: the 1-frame utterance has padding-only chunks
        kwargs["dynchunktrain_config"] = DynChunkTrainConfig(4, 1)
    expected = regular.eval()(x, **kwargs)[0]
    got, attention = fused.eval()(x, **kwargs)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    assert attention == [None, None]


def test_padding_only_chunks_give_finite_gradients():
    _, fused = encoders(ConformerEncoder, kernel_size=7)
    x, mask = batch()
    x.requires_grad_(True)
    out, _ = fused.train()(
        x, src_key_padding_mask=mask, dynchunktrain_config=DynChunkTrainConfig(4, 1)
    )
    out.square().sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in fused.parameters())
    assert float(x.grad[2, 1:].abs().max()) == 0.0  # padding has no influence


def test_weights_when_asked_are_regular_mha_weights():
    regular = build_mixer("regularMHA", D_MODEL, 2).eval()
    fused = FusedSelfAttention(D_MODEL, 2).eval()
    fused.in_proj.weight.data = regular.att.in_proj_weight.data.clone()
    fused.in_proj.bias.data = regular.att.in_proj_bias.data.clone()
    fused.out_proj.load_state_dict(regular.att.out_proj.state_dict())
    x, mask = batch()
    expected_out, expected_weights = regular(x, x, x, key_padding_mask=mask)
    out, weights = fused(x, key_padding_mask=mask, need_weights=True)
    torch.testing.assert_close(weights, expected_weights, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(out[~mask], expected_out[~mask], atol=1e-5, rtol=1e-5)
    fast, none = fused(x, key_padding_mask=mask)
    torch.testing.assert_close(fast, out, atol=1e-6, rtol=1e-5)
    assert none is None


def test_a_float_attention_mask_is_refused_with_the_convention():
    fused = FusedSelfAttention(D_MODEL, 2)
    with pytest.raises(ValueError, match="bool attn_mask .True = not allowed."):
        fused(torch.randn(1, 3, D_MODEL), attn_mask=torch.zeros(3, 3))
