import pytest
import torch
from speechbrain.lobes.models.transformer.Conformer import ConformerEncoder
from torch import nn

from summarymixing.wav2vec2 import (
    ConvPositionalEmbedding,
    FbankConvFrontEnd,
    GumbelProductQuantiser,
    W2V2EncoderWrapper,
    W2V2Pretrainer,
    WaveformConvFrontEnd,
    compute_span_mask,
    make_positional_encoding,
)


class IdentityEncoder(nn.Module):
    """Encoder stub with the SpeechBrain call contract."""

    def forward(self, src, src_key_padding_mask=None):
        return src, []


class TensorOnlyEncoder(nn.Module):
    """Breaks the contract: returns a bare tensor."""

    def forward(self, src, src_key_padding_mask=None):
        return src


class ZeroPosition(nn.Module):
    def forward(self, x):
        return torch.zeros_like(x)


@pytest.fixture
def one_thread():
    """Tiny models run fastest single-threaded, especially on shared CPUs."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def tiny_conformer(**kwargs):
    return ConformerEncoder(
        num_layers=1,
        d_model=32,
        d_ffn=64,
        nhead=2,
        attention_type="regularMHA",
        **kwargs,
    )


def tiny_pretrainer(frontend=None, encoder=None, num_distractors=10):
    frontend = frontend or FbankConvFrontEnd(out_channels=32)
    wrapper = W2V2EncoderWrapper(
        32,
        32,
        encoder or tiny_conformer(),
        out_dim=16,
        positional_encoding=ConvPositionalEmbedding(32, kernel_size=16, groups=4),
    )
    quantiser = GumbelProductQuantiser(input_dim=32, num_codewords=16, out_dim=16)
    return W2V2Pretrainer(frontend, wrapper, quantiser, num_distractors=num_distractors)


def padded_batch(lengths, seed=0):
    generator = torch.Generator().manual_seed(seed)
    wavs = torch.zeros(len(lengths), max(lengths))
    for i, length in enumerate(lengths):
        wavs[i, :length] = torch.randn(length, generator=generator)
    return wavs, torch.tensor(lengths) / max(lengths)


def tone_sequence(seconds, seed):
    """A fixed random melody: one random tone per 100 ms, plus a little noise."""
    generator = torch.Generator().manual_seed(seed)
    time = torch.arange(1600) / 16000
    pieces = []
    for _ in range(int(seconds * 10)):
        frequency = 100 + 3000 * torch.rand(1, generator=generator)
        noise = 0.05 * torch.randn(1600, generator=generator)
        pieces.append(torch.sin(2 * torch.pi * frequency * time) + noise)
    return torch.cat(pieces)


@pytest.mark.parametrize("frontend_class", [FbankConvFrontEnd, WaveformConvFrontEnd])
def test_forward_backward_on_padded_batch_reaches_every_parameter(
    frontend_class, one_thread
):
    torch.manual_seed(0)
    model = tiny_pretrainer(frontend_class(out_channels=32))
    wavs, wav_lens = padded_batch([16000, 2400, 9000, 800])
    out = model(wavs, wav_lens)
    assert torch.isfinite(out["loss"])
    out["loss"].backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_outputs_are_consistent(one_thread):
    torch.manual_seed(1)
    model = tiny_pretrainer()
    model.quantiser.count_optimizer_step(1000)
    wavs, wav_lens = padded_batch([16000, 4000])
    frames = model.frontend.output_lengths(torch.tensor([16000, 4000]))
    mask = compute_span_mask(frames, int(frames.max()))
    out = model(wavs, wav_lens, mask=mask)
    assert out["num_masked"] == mask.sum()
    torch.testing.assert_close(out["masked_ratio"], mask.sum() / frames.sum())
    assert out["temperature"].item() == pytest.approx(model.quantiser.temperature)
    assert 1.0 <= out["perplexity"].item() <= model.quantiser.total_codewords
    assert 0.0 <= out["accuracy"].item() <= 1.0
    torch.testing.assert_close(out["loss"], out["contrastive"] + out["diversity"])
    expected_diversity = (
        0.1 * mask.sum() * (32 - out["perplexity"]) / 32
    )  # scaled by the masked frames
    torch.testing.assert_close(out["diversity"], expected_diversity)


def test_drawn_masks_hit_the_span_masking_ratio(one_thread):
    torch.manual_seed(2)
    model = tiny_pretrainer()
    wavs, wav_lens = padded_batch([64000, 48000])
    ratios = [model(wavs, wav_lens)["masked_ratio"].item() for _ in range(10)]
    assert 0.40 < sum(ratios) / len(ratios) < 0.56


def test_losses_stay_fp32_and_finite_under_autocast(one_thread):
    torch.manual_seed(3)
    model = tiny_pretrainer()
    wavs, wav_lens = padded_batch([8000, 5000])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(wavs, wav_lens)
    for key in ("loss", "contrastive", "diversity", "perplexity"):
        assert out[key].dtype == torch.float32, key
        assert torch.isfinite(out[key]), key


@pytest.mark.parametrize("kind", ["conv", "sinusoidal", "none"])
def test_wrapper_padded_batch_equals_each_utterance_alone(kind):
    torch.manual_seed(4)
    position = (
        ConvPositionalEmbedding(16, kernel_size=8, groups=4)
        if kind == "conv"
        else make_positional_encoding(kind, 16)
    )
    wrapper = W2V2EncoderWrapper(
        8, 16, IdentityEncoder(), out_dim=4, positional_encoding=position
    ).eval()
    lengths = torch.tensor([30, 11, 4])
    latents = torch.randn(3, 30, 8)
    padding = torch.arange(30) >= lengths[:, None]
    mask = compute_span_mask(lengths, 30, span_length=3)
    batched = wrapper(latents, padding, mask).context
    for i, length in enumerate(lengths.tolist()):
        alone = wrapper(
            latents[i : i + 1, :length],
            padding[i : i + 1, :length],
            mask[i : i + 1, :length],
        ).context
        torch.testing.assert_close(batched[i, :length], alone[0])


def test_masked_frames_get_the_learned_mask_vector():
    wrapper = W2V2EncoderWrapper(
        8,
        16,
        IdentityEncoder(),
        out_dim=4,
        dropout=0.0,
        positional_encoding=ZeroPosition(),
    )
    mask = torch.tensor([[True, False, True, False]])
    embedded = wrapper.embed(torch.randn(1, 4, 8), mask=mask)
    expected = wrapper.input_norm(wrapper.mask_embedding)
    torch.testing.assert_close(embedded[0, 0], expected)
    torch.testing.assert_close(embedded[0, 2], expected)
    assert not torch.allclose(embedded[0, 1], expected)


def test_hidden_states_are_passed_through_and_encode_does_not_mask():
    torch.manual_seed(5)
    model = tiny_pretrainer(encoder=tiny_conformer(output_hidden_states=True)).eval()
    wavs, wav_lens = padded_batch([8000, 3000])
    out = model.encode(wavs, wav_lens)
    assert out.context.shape == (2, 26, 16) and out.encoded.shape == (2, 26, 32)
    assert len(out.hidden_states) == 2
    again = model.encode(wavs, wav_lens)
    torch.testing.assert_close(out.context, again.context)


def test_user_errors_raise_clear_messages():
    with pytest.raises(ValueError, match="must return"):
        wrapper = W2V2EncoderWrapper(
            8, 8, TensorOnlyEncoder(), out_dim=4, positional_encoding=ZeroPosition()
        )
        wrapper(torch.randn(1, 3, 8))
    with pytest.raises(ValueError, match="at least 2 frames"):
        tiny_pretrainer()(*padded_batch([16000, 200]))
    with pytest.raises(ValueError, match="make them equal"):
        W2V2Pretrainer(
            FbankConvFrontEnd(out_channels=24),
            W2V2EncoderWrapper(32, 32, IdentityEncoder(), out_dim=16),
            GumbelProductQuantiser(input_dim=32, num_codewords=16, out_dim=16),
        )
    with pytest.raises(ValueError, match="out_dim"):
        W2V2Pretrainer(
            FbankConvFrontEnd(out_channels=32),
            W2V2EncoderWrapper(32, 32, IdentityEncoder(), out_dim=16),
            GumbelProductQuantiser(input_dim=32, num_codewords=16, out_dim=8),
        )


def test_overfits_two_fixed_waveforms(one_thread):
    torch.manual_seed(0)
    model = tiny_pretrainer()
    second = tone_sequence(0.7, seed=2)
    wavs = torch.zeros(2, 16000)
    wavs[0] = tone_sequence(1.0, seed=1)
    wavs[1, : len(second)] = second
    wav_lens = torch.tensor([1.0, len(second) / 16000])
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses, accuracies = [], []
    for _ in range(60):
        out = model(wavs, wav_lens)
        optimiser.zero_grad()
        (out["loss"] / out["num_masked"]).backward()
        optimiser.step()
        model.quantiser.count_optimizer_step()
        losses.append((out["contrastive"] / out["num_masked"]).item())
        accuracies.append(out["accuracy"].item())
    first_loss, last_loss = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    first_accuracy, last_accuracy = (
        sum(accuracies[:10]) / 10,
        sum(accuracies[-10:]) / 10,
    )
    assert last_loss < 0.75 * first_loss, (first_loss, last_loss)
    assert last_accuracy > first_accuracy + 0.2, (first_accuracy, last_accuracy)
    assert model.quantiser.optimizer_steps.item() == 60
