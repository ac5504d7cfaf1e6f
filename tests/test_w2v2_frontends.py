import pytest
import torch

from summarymixing.wav2vec2 import (
    FbankConvFrontEnd,
    WaveformConvFrontEnd,
    frame_lengths_and_padding_mask,
    masked_mean_variance_normalise,
    relative_to_absolute_lengths,
)

LENGTHS = [400, 401, 479, 480, 481, 559, 560, 1000, 1599, 1600, 1601, 3333, 16000]


def make_frontends():
    torch.manual_seed(0)
    return [FbankConvFrontEnd(out_channels=16), WaveformConvFrontEnd(out_channels=16)]


@pytest.mark.parametrize("frontend", make_frontends(), ids=["fbank", "waveform"])
def test_output_lengths_match_actual_shapes(frontend):
    for num_samples in LENGTHS:
        latents = frontend(torch.randn(1, num_samples), torch.tensor([num_samples]))
        predicted = frontend.output_lengths(torch.tensor([num_samples]))
        assert latents.shape[1] == int(predicted[0]), num_samples


def test_paper_frame_rates():
    second = torch.tensor([16000])
    assert FbankConvFrontEnd().output_lengths(second).item() == 51
    assert WaveformConvFrontEnd().output_lengths(second).item() == 49


@pytest.mark.parametrize("frontend", make_frontends(), ids=["fbank", "waveform"])
def test_padded_batch_equals_each_utterance_alone(frontend):
    frontend.eval()
    torch.manual_seed(1)
    lengths = [16000, 3211, 7777, 480]
    wavs = [torch.randn(n) * (i + 1) for i, n in enumerate(lengths)]
    # a loud burst at the very end makes a padding-dependent dB floor visible
    wavs[1][-100:] *= 50.0
    batch = torch.zeros(len(wavs), max(lengths))
    for i, wav in enumerate(wavs):
        batch[i, : len(wav)] = wav
    num_samples = torch.tensor(lengths)
    batched = frontend(batch, num_samples)
    frames = frontend.output_lengths(num_samples)
    for i, wav in enumerate(wavs):
        alone = frontend(wav.unsqueeze(0), num_samples[i : i + 1])
        assert alone.shape[1] == frames[i]
        torch.testing.assert_close(
            batched[i, : frames[i]], alone[0], atol=1e-5, rtol=1e-4
        )
        assert torch.all(batched[i, frames[i] :] == 0)


def test_fbank_normalisation_ignores_padding():
    frontend = FbankConvFrontEnd(out_channels=8)
    wav = torch.randn(1, 8000)
    features = frontend.log_mel(wav, torch.tensor([8000]))
    # zero padding doubles the length: included in the statistics, those silent
    # frames would shift every mean and variance
    padded = torch.cat([wav, torch.zeros(1, 8000)], dim=1)
    padded_features = frontend.log_mel(padded, torch.tensor([8000]))
    real = frontend.fbank_lengths(torch.tensor([8000])).item()
    torch.testing.assert_close(padded_features[:, :real], features)
    assert features.mean(dim=1).abs().max() < 1e-4
    assert (features.std(dim=1, unbiased=False) - 1).abs().max() < 1e-3


def test_fbank_features_stay_fp32_under_autocast():
    frontend = FbankConvFrontEnd(out_channels=8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        features = frontend.log_mel(torch.randn(2, 4000), torch.tensor([4000, 3000]))
    assert features.dtype == torch.float32


def test_masked_normalisation_statistics_and_zero_padding():
    x = torch.randn(3, 20, 4) * 5 + 2
    lengths = torch.tensor([20, 7, 1])
    y = masked_mean_variance_normalise(x, lengths)
    torch.testing.assert_close(y[1, :7].mean(0), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        y[1, :7].var(0, unbiased=False), torch.ones(4), atol=1e-3, rtol=0
    )
    assert torch.all(y[1, 7:] == 0) and torch.all(y[2] == 0)


def test_relative_lengths_round_trip_to_frame_lengths():
    frontend = FbankConvFrontEnd(out_channels=8)
    num_samples = torch.tensor([16000, 12345, 999])
    wav_lens = num_samples.float() / 16000
    assert relative_to_absolute_lengths(wav_lens, 16000).tolist() == [16000, 12345, 999]
    frames, padding = frame_lengths_and_padding_mask(frontend, wav_lens, 16000)
    latents = frontend(torch.randn(3, 16000), num_samples)
    assert frames.tolist() == frontend.output_lengths(num_samples).tolist()
    assert padding.shape == latents.shape[:2]
    assert (~padding).sum(1).tolist() == frames.tolist()


def test_mismatched_kernel_and_stride_lists_raise():
    with pytest.raises(ValueError, match="same number of entries"):
        WaveformConvFrontEnd(kernel_sizes=[10, 3], strides=[5])
