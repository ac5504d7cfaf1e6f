"""Chunked (dynamic chunk training) Conformer and its streaming inference."""

import pytest
import torch
from speechbrain.lobes.models.transformer.Conformer import (
    ConvolutionModule as SBConvolutionModule,
)
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig

from summarymixing.encoders import ConformerEncoder
from summarymixing.encoders.convolution import ConvolutionModule

D_MODEL = 16
MODES = ("SummaryMixing", "SummaryMixing-lite", "SummaryMixing-fast")


def encoder(mode="SummaryMixing", kernel_size=5, attention_type="SummaryMixing"):
    torch.manual_seed(0)
    return ConformerEncoder(
        3, D_MODEL, 32, 2, kernel_size=kernel_size, mode=mode,
        attention_type=attention_type,
    ).eval()  # fmt: skip


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("left_context_size", [None, 0, 2])
@pytest.mark.parametrize("kernel_size", [5, 15])
def test_streaming_equals_offline_chunked_forward(mode, left_context_size, kernel_size):
    # kernel_size=15 needs 7 left frames: more than one chunk of 4.
    model = encoder(mode, kernel_size)
    config = DynChunkTrainConfig(chunk_size=4, left_context_size=left_context_size)
    x = torch.randn(2, 19, D_MODEL)
    offline, _ = model(x, dynchunktrain_config=config)
    context = model.make_streaming_context(config)
    with torch.no_grad():
        streamed = [model.forward_streaming(chunk, context) for chunk in x.split(4, 1)]
    torch.testing.assert_close(
        torch.cat(streamed, dim=1), offline, atol=1e-5, rtol=1e-5
    )


@pytest.mark.parametrize("attention_type", ["SummaryMixing", "regularMHA"])
def test_chunked_forward_never_sees_the_future(attention_type):
    model = encoder(attention_type=attention_type)
    config = DynChunkTrainConfig(chunk_size=4, left_context_size=None)
    x = torch.randn(1, 16, D_MODEL)
    changed = x.clone()
    changed[:, 8:] = torch.randn(1, 8, D_MODEL)
    before, _ = model(x, dynchunktrain_config=config)
    after, _ = model(changed, dynchunktrain_config=config)
    torch.testing.assert_close(after[:, :8], before[:, :8], atol=1e-6, rtol=1e-6)
    assert (after[:, 8:] - before[:, 8:]).abs().max() > 1e-3


def test_limited_left_context_forgets_old_chunks():
    torch.manual_seed(0)
    model = ConformerEncoder(1, D_MODEL, 32, 2, kernel_size=3).eval()
    config = DynChunkTrainConfig(chunk_size=4, left_context_size=1)
    x = torch.randn(1, 16, D_MODEL)
    changed = x.clone()
    changed[:, :4] = torch.randn(1, 4, D_MODEL)
    before, _ = model(x, dynchunktrain_config=config)
    after, _ = model(changed, dynchunktrain_config=config)
    # The summary of chunk 1 sees chunk 0; the convolution then carries that one
    # frame into chunk 2. Chunk 3 is out of reach.
    assert (after[:, 4:9] - before[:, 4:9]).abs().min() > 0
    torch.testing.assert_close(after[:, 9:], before[:, 9:], atol=1e-6, rtol=1e-6)


def test_chunked_convolution_matches_speechbrains_dynamic_chunk_convolution():
    torch.manual_seed(0)
    speechbrain_module = SBConvolutionModule(D_MODEL, kernel_size=7).eval()
    ours = ConvolutionModule(D_MODEL, kernel_size=7).eval()
    ours.load_state_dict(speechbrain_module.state_dict(), strict=True)
    x = torch.randn(2, 17, D_MODEL)
    config = DynChunkTrainConfig(chunk_size=5, left_context_size=None)
    torch.testing.assert_close(
        ours(x, dynchunktrain_config=config),
        speechbrain_module(x, dynchunktrain_config=config),
        atol=1e-5,
        rtol=1e-5,
    )
