"""Padding-exactness: a padded batch gives each utterance's own output.

Also demonstrates why our convolutions exist: SpeechBrain's Conformer
convolution module and Branchformer gating unit let padded frames leak into the
last real frames of an utterance.
"""

import pytest
import torch
from speechbrain.lobes.models.convolution import ConvolutionalSpatialGatingUnit
from speechbrain.lobes.models.transformer.Conformer import (
    ConvolutionModule as SBConvolutionModule,
)
from speechbrain.nnet.attention import RelPosEncXL
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig

from summarymixing.encoders import BranchformerEncoder, ConformerEncoder
from summarymixing.encoders.convolution import ConvolutionModule, GatingUnit

D_MODEL = 16
LENGTHS = [13, 7, 1]
MIXERS = [
    {"attention_type": "SummaryMixing", "mode": "SummaryMixing"},
    {"attention_type": "SummaryMixing", "mode": "SummaryMixing-lite"},
    {"attention_type": "SummaryMixing", "mode": "SummaryMixing-fast"},
    {"attention_type": "regularMHA"},
    {"attention_type": "SDPA"},
    {"attention_type": "RelPosMHAXL"},
]


def padded_batch(lengths=LENGTHS, dim=D_MODEL, seed=0):
    """Random utterances, padded with garbage (not zeros) to expose any leak."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), max(lengths), dim, generator=generator)
    mask = torch.arange(max(lengths))[None] >= torch.tensor(lengths)[:, None]
    return x, mask


def pos_embs(encoder, x):
    if encoder.attention_type == "RelPosMHAXL":
        return RelPosEncXL(D_MODEL)(x)
    return None


def assert_each_utterance_alone(encoder, x, mask, **kwargs):
    out, _, hidden = encoder(
        x, src_key_padding_mask=mask, pos_embs=pos_embs(encoder, x), **kwargs
    )
    for index, length in enumerate((~mask).sum(1).tolist()):
        alone_x = x[index : index + 1, :length]
        alone, _, alone_hidden = encoder(
            alone_x, pos_embs=pos_embs(encoder, alone_x), **kwargs
        )
        torch.testing.assert_close(
            out[index : index + 1, :length], alone, atol=1e-5, rtol=1e-5
        )
        for padded_state, alone_state in zip(hidden, alone_hidden, strict=True):
            torch.testing.assert_close(
                padded_state[index : index + 1, :length],
                alone_state,
                atol=1e-5,
                rtol=1e-5,
            )


@pytest.mark.parametrize("mixer", MIXERS, ids=lambda m: "-".join(m.values()))
def test_conformer_is_padding_exact(mixer):
    torch.manual_seed(0)
    encoder = ConformerEncoder(
        3, D_MODEL, 32, 2, kernel_size=7, output_hidden_states=True, **mixer
    ).eval()
    assert_each_utterance_alone(encoder, *padded_batch())


@pytest.mark.parametrize("mixer", MIXERS[:5], ids=lambda m: "-".join(m.values()))
def test_chunked_conformer_is_padding_exact(mixer):
    torch.manual_seed(0)
    encoder = ConformerEncoder(
        2, D_MODEL, 32, 2, kernel_size=7, output_hidden_states=True, **mixer
    ).eval()
    config = DynChunkTrainConfig(chunk_size=4, left_context_size=1)
    assert_each_utterance_alone(encoder, *padded_batch(), dynchunktrain_config=config)


@pytest.mark.parametrize("mixer", MIXERS, ids=lambda m: "-".join(m.values()))
def test_branchformer_is_padding_exact(mixer):
    torch.manual_seed(0)
    encoder = BranchformerEncoder(
        3, D_MODEL, 2, kernel_size=7, csgu_linear_units=32, output_hidden_states=True,
        **mixer,
    ).eval()  # fmt: skip
    assert_each_utterance_alone(encoder, *padded_batch())


def test_speechbrain_convolution_module_leaks_padding_and_ours_does_not():
    torch.manual_seed(0)
    speechbrain_module = SBConvolutionModule(D_MODEL, kernel_size=7).eval()
    ours = ConvolutionModule(D_MODEL, kernel_size=7).eval()
    ours.load_state_dict(speechbrain_module.state_dict(), strict=True)
    x, mask = padded_batch([10, 6])
    alone = x[1:, :6]

    leaked = speechbrain_module(x, mask.unsqueeze(-1))[1:, :6]
    reference = speechbrain_module(alone)
    # The first frames are out of the kernel's reach; the last three are not.
    torch.testing.assert_close(leaked[:, :3], reference[:, :3], atol=1e-5, rtol=1e-5)
    assert (leaked[:, 3:] - reference[:, 3:]).abs().max() > 1e-2

    torch.testing.assert_close(ours(alone), reference, atol=1e-5, rtol=1e-5)
    fixed = ours(x, mask.unsqueeze(-1))[1:, :6]
    torch.testing.assert_close(fixed, reference, atol=1e-5, rtol=1e-5)


def test_speechbrain_gating_unit_leaks_padding_and_ours_does_not():
    torch.manual_seed(0)
    speechbrain_unit = ConvolutionalSpatialGatingUnit(32, kernel_size=7).eval()
    ours = GatingUnit(32, kernel_size=7).eval()
    ours.load_state_dict(speechbrain_unit.state_dict(), strict=True)
    for unit in (speechbrain_unit, ours):  # a trained-like kernel, not ~1e-6
        torch.nn.init.normal_(unit.conv.conv.weight)
    ours.load_state_dict(speechbrain_unit.state_dict(), strict=True)
    x, mask = padded_batch([10, 6], dim=32)

    leaked = speechbrain_unit(x)[1:, :6]
    assert (leaked - speechbrain_unit(x[1:, :6])).abs().max() > 1e-2

    fixed = ours(x, mask.unsqueeze(-1))[1:, :6]
    torch.testing.assert_close(fixed, ours(x[1:, :6]), atol=1e-5, rtol=1e-5)
