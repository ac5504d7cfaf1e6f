"""Bad encoder arguments and inputs raise one clear ValueError."""

import pytest
import torch
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig

from summarymixing.encoders import BranchformerEncoder, ConformerEncoder

D_MODEL = 16


def conformer(**overrides):
    options = dict(num_layers=1, d_model=D_MODEL, d_ffn=32, nhead=2, kernel_size=3)
    options.update(overrides)
    return ConformerEncoder(**options)


def branchformer(**overrides):
    options = dict(
        num_layers=1, d_model=D_MODEL, nhead=2, kernel_size=3, csgu_linear_units=32
    )
    options.update(overrides)
    return BranchformerEncoder(**options)


@pytest.mark.parametrize("build", [conformer, branchformer])
def test_unknown_attention_type_lists_accepted_values(build):
    with pytest.raises(ValueError, match="attention_type='MHSA'.*regularMHA.*RoPEMHA"):
        build(attention_type="MHSA")


@pytest.mark.parametrize("build", [conformer, branchformer])
@pytest.mark.parametrize("attention_type", ["SummaryMixing", "regularMHA"])
def test_nhead_must_divide_d_model(build, attention_type):
    with pytest.raises(ValueError, match="nhead=3 .*d_model=16"):
        build(nhead=3, attention_type=attention_type)


@pytest.mark.parametrize("build", [conformer, branchformer])
def test_unknown_summary_mixing_mode_names_mode(build):
    with pytest.raises(
        ValueError, match="mode='SummaryMixing-turbo'.*SummaryMixing-lite"
    ):
        build(mode="SummaryMixing-turbo")


def test_summary_mixing_dimension_not_divisible_by_nhead():
    with pytest.raises(ValueError, match="summary_out_dim"):
        conformer(summary_out_dim=9, summary_hid_dim=[8])


@pytest.mark.parametrize("build", [conformer, branchformer])
def test_even_kernel_size_is_rejected(build):
    with pytest.raises(ValueError, match="kernel_size=4 must be odd"):
        build(kernel_size=4)


def test_odd_csgu_units_are_rejected():
    with pytest.raises(ValueError, match="csgu_linear_units=33 must be even"):
        branchformer(csgu_linear_units=33)


@pytest.mark.parametrize("build", [conformer, branchformer])
def test_wrong_feature_size_names_src_and_d_model(build):
    with pytest.raises(
        ValueError, match=r"src must have shape .*d_model=16.*\(2, 5, 12\)"
    ):
        build()(torch.randn(2, 5, 12))


@pytest.mark.parametrize("build", [conformer, branchformer])
@pytest.mark.parametrize(
    "mask",
    [
        torch.zeros(2, 4, dtype=torch.bool),
        torch.zeros(5, 2, dtype=torch.bool),
        torch.zeros(2, 5),
    ],
)
def test_padding_mask_must_be_bool_batch_by_time(build, mask):
    with pytest.raises(ValueError, match=r"src_key_padding_mask .*\(2, 5\)"):
        build()(torch.randn(2, 5, D_MODEL), src_key_padding_mask=mask)


@pytest.mark.parametrize("build", [conformer, branchformer])
def test_relposmhaxl_without_pos_embs_says_how_to_build_them(build):
    encoder = build(attention_type="RelPosMHAXL")
    with pytest.raises(ValueError, match="pos_embs.*RelPosEncXL"):
        encoder(torch.randn(1, 5, D_MODEL))


@pytest.mark.parametrize("build", [conformer, branchformer])
def test_summary_mixing_refuses_an_attention_mask(build):
    src_mask = torch.triu(torch.ones(5, 5, dtype=torch.bool), diagonal=1)
    with pytest.raises(ValueError, match="cannot apply an attention src_mask"):
        build()(torch.randn(1, 5, D_MODEL), src_mask=src_mask)


def test_branchformer_refuses_chunked_training():
    with pytest.raises(ValueError, match="does not support dynchunktrain_config"):
        branchformer()(
            torch.randn(1, 5, D_MODEL), dynchunktrain_config=DynChunkTrainConfig(2)
        )


def test_causal_conformer_refuses_chunked_training():
    with pytest.raises(ValueError, match="causal=False"):
        conformer(causal=True)(
            torch.randn(1, 5, D_MODEL), dynchunktrain_config=DynChunkTrainConfig(2)
        )


@pytest.mark.parametrize(
    "overrides", [{"attention_type": "regularMHA"}, {"causal": True}]
)
def test_streaming_needs_summary_mixing_and_non_causal(overrides):
    with pytest.raises(ValueError, match="streaming inference needs"):
        conformer(**overrides).make_streaming_context(DynChunkTrainConfig(4))


def test_streaming_chunk_longer_than_chunk_size():
    encoder = conformer().eval()
    context = encoder.make_streaming_context(DynChunkTrainConfig(4))
    with pytest.raises(ValueError, match=r"6 frames .*chunk_size is 4.*split"):
        encoder.forward_streaming(torch.randn(1, 6, D_MODEL), context)
